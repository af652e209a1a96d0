"""SQLite engine settings, BEGIN IMMEDIATE, units of work with retry, and StoreBusyError."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from snakelab.store.core import open_store
from snakelab.store.errors import StoreBusyError
from snakelab.store.models import Run
from snakelab.store.retry import BACKOFF_CAP_S, backoff_seconds, is_transient


def _locked_by_another_connection(path: Path) -> bool:
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        assert "database is locked" in str(exc)
        return True
    finally:
        other.close()


def test_connection_pragmas_and_pool(store) -> None:
    assert isinstance(store.engine.pool, NullPool)
    with store.read() as session:
        values = {
            p: session.execute(text(f"PRAGMA {p}")).scalar()
            for p in ("journal_mode", "busy_timeout", "synchronous", "foreign_keys")
        }
    assert values == {"journal_mode": "wal", "busy_timeout": 60000, "synchronous": 1, "foreign_keys": 1}


def test_busy_timeout_setting_reaches_the_connection(sqlite_url: str) -> None:
    store = open_store(sqlite_url, create=True, config={"busy_timeout_ms": 50})
    with store.read() as session:
        assert session.execute(text("PRAGMA busy_timeout")).scalar() == 50


def test_write_units_take_the_write_lock_up_front_and_reads_do_not(store, workdir: Path) -> None:
    db = workdir / "store.sqlite"

    def read_then_look(session) -> bool:
        session.execute(select(Run.id)).all()  # only a read so far: BEGIN IMMEDIATE already holds the lock
        return _locked_by_another_connection(db)

    assert store.transaction(read_then_look) is True
    with store.read() as session:
        session.execute(select(Run.id)).all()
        assert _locked_by_another_connection(db) is False


def test_foreign_keys_are_enforced(store) -> None:
    def orphan(session):
        session.execute(
            text(
                "INSERT INTO run_io (run_id, artifact_id, direction, role, created_at, updated_at) "
                "VALUES (999, 999, 'in', 'x', '2026-01-01', '2026-01-01')"
            )
        )

    with pytest.raises(Exception, match="FOREIGN KEY constraint failed"):
        store.transaction(orphan)


def _hold_write_lock(db: Path, seconds: float, started: threading.Event) -> None:
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    started.set()
    time.sleep(seconds)
    holder.execute("COMMIT")
    holder.close()


def test_a_locked_database_is_retried_until_free(sqlite_url: str, workdir: Path) -> None:
    store = open_store(sqlite_url, create=True, config={"busy_timeout_ms": 10, "retry_seconds": 30})
    store.ensure_schema()
    started = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(workdir / "store.sqlite", 0.4, started))
    holder.start()
    started.wait()
    began = time.monotonic()
    assert store.transaction(lambda s: s.execute(text("SELECT 7")).scalar()) == 7
    waited = time.monotonic() - began
    holder.join()
    assert store.retries >= 2
    assert 0.3 < waited < 3.0


def test_store_busy_error_names_url_and_time(sqlite_url: str, workdir: Path) -> None:
    store = open_store(sqlite_url, create=True, config={"busy_timeout_ms": 10, "retry_seconds": 0.3})
    store.ensure_schema()
    started = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(workdir / "store.sqlite", 1.0, started))
    holder.start()
    started.wait()
    with pytest.raises(StoreBusyError) as info:
        store.transaction(lambda s: s.execute(text("SELECT 1")))
    holder.join()
    message = str(info.value)
    assert message.startswith(f"store {sqlite_url} stayed busy: gave up after 0.")
    assert "store.retry_seconds" in message and "database is locked" in message
    assert 0.05 < info.value.waited_s < 0.3 + 0.5  # the last attempt may end a little past the limit


def test_other_errors_are_not_retried(store) -> None:
    calls = []

    def bad(session):
        calls.append(1)
        session.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(OperationalError, match="no such table"):
        store.transaction(bad)
    assert calls == [1] and store.retries == 0


class _Orig(Exception):
    def __init__(
        self, message: str, sqlstate: str | None = None, sqlite_errorcode: int | None = None
    ) -> None:
        super().__init__(message)
        if sqlstate is not None:
            self.sqlstate = sqlstate
        if sqlite_errorcode is not None:
            self.sqlite_errorcode = sqlite_errorcode


@pytest.mark.parametrize(
    ("orig", "invalidated", "transient"),
    [
        (_Orig("database is locked", sqlite_errorcode=5), False, True),
        (_Orig("database is locked", sqlite_errorcode=517), False, True),  # SQLITE_BUSY_SNAPSHOT
        (_Orig("database table is locked", sqlite_errorcode=6), False, True),
        (_Orig("disk I/O error", sqlite_errorcode=10), False, False),
        (_Orig("could not serialize access", sqlstate="40001"), False, True),
        (_Orig("deadlock detected", sqlstate="40P01"), False, True),
        (_Orig("terminating connection due to administrator command", sqlstate="57P01"), False, True),
        (_Orig("connection failure", sqlstate="08006"), False, True),
        (_Orig("duplicate key value", sqlstate="23505"), False, False),
        (_Orig("server closed the connection unexpectedly"), True, True),
        (_Orig("connection refused"), False, False),
    ],
)
def test_transient_errors(orig: Exception, invalidated: bool, transient: bool) -> None:
    exc = OperationalError("SELECT 1", {}, orig, connection_invalidated=invalidated)
    assert is_transient(exc) is transient
    assert is_transient(ValueError("database is locked")) is False


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    for attempt, base in enumerate([0.05, 0.1, 0.2, 0.4, 0.8, 1.6]):
        waits = [backoff_seconds(attempt) for _ in range(200)]
        assert base * 0.5 <= min(waits) and max(waits) <= min(base * 1.5, BACKOFF_CAP_S)
        assert max(waits) - min(waits) > base * 0.5  # jittered
    assert max(backoff_seconds(40) for _ in range(100)) <= BACKOFF_CAP_S == 2.0
