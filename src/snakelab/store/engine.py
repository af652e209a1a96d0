"""SQLAlchemy engines for the two backends, configured for many concurrent writer processes (spec §2).

SQLite: every connection sets ``journal_mode=WAL``, ``busy_timeout``, ``synchronous=NORMAL`` and
``foreign_keys=ON``; no pool (``NullPool``: a connection per unit of work); the driver runs in
autocommit mode (``isolation_level=None``) and each transaction is opened by our own ``BEGIN``:
``BEGIN IMMEDIATE`` for writes, so the write lock is taken up front and a read→write upgrade can never
fail with SQLITE_BUSY_SNAPSHOT (which ``busy_timeout`` does not cover); plain ``BEGIN`` for reads.

A store also holds one idle raw connection to its SQLite file (:class:`WalKeeper`): SQLite
checkpoints and deletes the WAL whenever the *last* connection closes, which with ``NullPool`` would
be after every unit of work (≈13 ms with its fsyncs on a 2-core VM, against 0.3 ms for the
transaction itself). The keeper never holds a transaction, so it blocks neither writers nor
checkpoints.

PostgreSQL (psycopg 3): ``pool_size=1, max_overflow=2, pool_pre_ping=True`` (``store.pool: null`` →
``NullPool``, for pgbouncer), READ COMMITTED.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool

from snakelab.store.netfs import check_local_filesystem
from snakelab.store.settings import StoreSettings
from snakelab.store.url import is_sqlite, sqlite_path

#: execution option read by the SQLite ``begin`` hook: ``False`` opens a read (deferred) transaction.
WRITE_OPTION = "snakelab_write"


def make_engine(url: str, settings: StoreSettings) -> Engine:
    """An engine for ``url`` (already normalised by :func:`snakelab.store.url.normalise_url`).

    Opens no connection. For SQLite, refuses a database on a network filesystem
    (:class:`~snakelab.store.errors.NetworkFilesystemError`) unless ``settings.allow_network_fs``.
    """
    if is_sqlite(url):
        check_local_filesystem(sqlite_path(url), settings.allow_network_fs)
        return _sqlite_engine(url, settings.busy_timeout_ms)
    return _postgres_engine(url, settings.pool)


def _sqlite_engine(url: str, busy_timeout_ms: int) -> Engine:
    engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": busy_timeout_ms / 1000.0})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL").fetchall()
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, True)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _postgres_engine(url: str, pool: str | None) -> Engine:
    options: dict[str, Any] = {"isolation_level": "READ COMMITTED", "pool_pre_ping": True}
    if pool is None:
        options["poolclass"] = NullPool
    else:
        options.update(pool_size=1, max_overflow=2)
    return create_engine(url, connect_args={"application_name": "snakelab"}, **options)


class WalKeeper:
    """An idle connection that keeps a SQLite database's WAL index open while a store is in use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pid = os.getpid()
        self._connection: sqlite3.Connection | None = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False
        )
        self._connection.execute("SELECT count(*) FROM sqlite_master").fetchall()

    def close(self) -> None:
        """Close the connection (in the process that opened it; a forked child just drops it)."""
        connection, self._connection = self._connection, None
        if connection is not None and os.getpid() == self._pid:
            connection.close()
