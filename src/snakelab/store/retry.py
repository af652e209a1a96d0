"""Which database errors are worth retrying, and how long to wait before the next attempt.

Transient: SQLite ``database is locked``/``busy`` (SQLITE_BUSY, SQLITE_LOCKED and their extended
codes); PostgreSQL serialization failure (40001), deadlock (40P01), lock not available (55P03),
connection exceptions (class 08), server shutdown (57P01–57P03); and connections SQLAlchemy found
lost (``connection_invalidated``). A first connection that is refused is not retried: a wrong host
or port fails at once.
"""

from __future__ import annotations

import random

from sqlalchemy.exc import DBAPIError

#: back-off of attempt k (0-based): BASE·2^k seconds, capped, then scaled by a uniform ±JITTER.
BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 2.0
JITTER = 0.5

_SQLITE_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED (primary codes; extended codes share the low byte)
_PG_TRANSIENT_STATES = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03"}
_jitter = random.Random()


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the whole unit of work may succeed after ``exc``."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _SQLITE_BUSY_CODES
    message = str(orig).lower()
    if any(
        text in message for text in ("database is locked", "database is busy", "database table is locked")
    ):
        return True
    sqlstate = getattr(orig, "sqlstate", None)
    return sqlstate is not None and (sqlstate in _PG_TRANSIENT_STATES or sqlstate.startswith("08"))


def backoff_seconds(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): 0.05·2^k ±50 % jitter, at most 2 s."""
    base = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0 ** min(attempt, 30))
    return min(BACKOFF_CAP_S, base * _jitter.uniform(1.0 - JITTER, 1.0 + JITTER))


def first_line(exc: BaseException) -> str:
    """``exc``'s message up to the first line break (SQLAlchemy appends SQL and a link on later lines)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
