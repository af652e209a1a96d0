"""Schema revisions: read the database's Alembic revision, compare it with head, migrate under a lock.

The Alembic scripts ship in this package (``migrations/``, ``script_location`` set in code). A read
of ``alembic_version`` short-circuits at head; otherwise the upgrade runs under a lock, so that many
jobs starting at once migrate exactly once: SQLite takes a file lock on ``<db>.migrate.lock`` (and
the migration itself runs in one ``BEGIN IMMEDIATE`` transaction), PostgreSQL an advisory lock.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from snakelab.store.errors import SchemaMismatch
from snakelab.store.url import is_sqlite, mask_url, sqlite_path

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: the newest migration script (a test checks it against Alembic's view of ``migrations/``); known
#: without importing Alembic, so a writer opening an up-to-date store never loads it.
HEAD_REVISION = "0002"
#: key of the PostgreSQL advisory lock held while migrating (``"snak"`` in ASCII).
PG_MIGRATION_LOCK = 0x736E616B


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for the packaged scripts; ``connection`` (if given) is the one env.py uses."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def script_directory() -> ScriptDirectory:
    """Alembic's view of the packaged migration scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision this snakelab knows (``0001`` for the initial schema)."""
    return HEAD_REVISION


def is_known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of this snakelab's migration scripts."""
    try:
        return script_directory().get_revision(revision) is not None
    except Exception:  # alembic raises several CommandError/ResolutionError types for unknown ids
        return False


def current_revision(connection: Connection) -> str | None:
    """The revision recorded in the database's ``alembic_version`` table (``None``: no schema)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def check_revision(revision: str | None, url: str, *, auto_upgrade: bool, writable: bool) -> bool:
    """Decide what to do with a database at ``revision``; return whether it must be upgraded.

    Raises :class:`SchemaMismatch` for a revision newer than head (unknown to this snakelab), and for
    an older one when the store is opened read-only or ``store.auto_upgrade`` is false. ``None`` (no
    schema yet) needs an upgrade; whether that is allowed is the caller's decision.
    """
    head = head_revision()
    if revision == head:
        return False
    if revision is None:
        return True
    if not is_known_revision(revision):
        raise SchemaMismatch(
            f"store schema {revision} is newer than this snakelab (head {head}): {mask_url(url)}; "
            "upgrade snakelab"
        )
    if not writable or not auto_upgrade:
        why = "store.auto_upgrade is false" if writable else "opened read-only"
        raise SchemaMismatch(
            f"store schema {revision} is older than this snakelab (head {head}): {mask_url(url)} ({why}); "
            "run 'snakelab store upgrade'"
        )
    return True


def upgrade(engine: Engine, url: str, target: str = "head", lock_timeout_s: float = 300.0) -> str | None:
    """Upgrade the schema to ``target`` under the migration lock; return the revision after.

    Skipped when the database is already at head (another process may have got there first while
    this one waited for the lock).
    """
    from alembic import command

    with _migration_lock(engine, url, lock_timeout_s) as connection:
        if target != "head" or current_revision(connection) != head_revision():
            command.upgrade(alembic_config(connection), target)
        return current_revision(connection)


def downgrade(engine: Engine, url: str, target: str = "base", lock_timeout_s: float = 300.0) -> str | None:
    """Downgrade the schema to ``target`` (``base`` drops every table) under the migration lock."""
    from alembic import command

    with _migration_lock(engine, url, lock_timeout_s) as connection:
        command.downgrade(alembic_config(connection), target)
        return current_revision(connection)


@contextmanager
def _migration_lock(engine: Engine, url: str, timeout_s: float) -> Iterator[Connection]:
    """One transaction holding the migration lock: a file lock for SQLite, an advisory lock for PostgreSQL."""
    if is_sqlite(url):
        from filelock import FileLock

        db = sqlite_path(url)
        db.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{db}.migrate.lock", timeout=timeout_s), engine.begin() as connection:
            yield connection
        return
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
        yield connection
