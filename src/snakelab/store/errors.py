"""Errors of the metastore. Every :class:`StoreError` is reported by the CLI as one line, exit status 2.

Messages name the store URL (password masked), the table or field, and what was expected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snakelab.store.record import RunRecord


class StoreError(Exception):
    """A store could not be opened, read or written as asked (CLI exit status 2)."""

    exit_code = 2


class StoreConfigError(StoreError):
    """A ``store.*`` setting or a store URL is malformed."""


class StoreNotInitialised(StoreError):
    """A read-only open found no database (or one without a schema) at the URL."""

    def __init__(self, masked_url: str) -> None:
        super().__init__(f"store not initialised at {masked_url}; run 'snakelab store init'")
        self.url = masked_url


class SchemaMismatch(StoreError):
    """The database's schema revision is not the one this snakelab expects."""


class NetworkFilesystemError(StoreError):
    """A SQLite database lies on a network filesystem, where its file locking is unsafe."""


class StoreBusyError(StoreError):
    """A unit of work kept failing on a locked/busy database until ``store.retry_seconds`` ran out."""

    def __init__(self, masked_url: str, waited_s: float, attempts: int, last_error: str) -> None:
        super().__init__(
            f"store {masked_url} stayed busy: gave up after {waited_s:.1f} s and {attempts} attempts "
            f"(store.retry_seconds; last error: {last_error})"
        )
        self.url = masked_url
        self.waited_s = waited_s
        self.attempts = attempts


class RunInProgress(StoreError):
    """Another live process is running the unit with this uid (its heartbeat is fresh)."""


class RunNotFound(StoreError):
    """No run matches the uid, uid prefix or id that was asked for."""


class DatasetConflict(StoreError):
    """A dataset name is already registered with a different ``typ``."""


class RunExists(Exception):
    """The unit already succeeded with this uid and its outputs are present with matching hashes.

    Not an error: a stage catches it (or calls :meth:`Store.find_run` first) and skips the work.
    ``record`` is the stored run.
    """

    def __init__(self, record: RunRecord) -> None:
        super().__init__(
            f"run {record.uid} ({record.pipeline}/{record.kind}) already succeeded "
            f"(attempt {record.attempt}) and its {len(record.outputs)} outputs are intact"
        )
        self.record = record
