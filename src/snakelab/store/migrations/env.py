"""Alembic environment of the snakelab store.

Used in two ways: programmatically by :mod:`snakelab.store.schema`, which passes an open connection
in ``config.attributes["connection"]``; and by ``alembic revision --autogenerate`` with an ini file,
where the URL comes from ``-x url=…``, ``sqlalchemy.url`` or the usual store URL resolution.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from snakelab.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    from snakelab.store.url import resolve_url

    x_url = context.get_x_argument(as_dictionary=True).get("url")
    return resolve_url(x_url or config.get_main_option("sqlalchemy.url")).url


def run_offline() -> None:
    """Emit the migration SQL for a URL without connecting (``alembic upgrade --sql``)."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run the migrations on the connection given by the caller, or on a new one to the resolved URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    from snakelab.store.engine import make_engine
    from snakelab.store.settings import StoreSettings

    engine = make_engine(_url(), StoreSettings())
    with engine.begin() as new_connection:
        _configure(new_connection)


if context.is_offline_mode():
    run_offline()
else:
    run_online()
