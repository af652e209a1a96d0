"""The :class:`Store` handle: lazy engine, schema check/migration, units of work with retry.

``open_store`` only records the URL and settings: the engine is made, the database file looked for
and the schema revision read on first use. ``create=False`` (readers) never creates anything: a
missing database raises :class:`StoreNotInitialised`. ``create=True`` (writers) migrates to head
when needed, under the migration lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from snakelab.store.errors import StoreBusyError, StoreError, StoreNotInitialised
from snakelab.store.settings import StoreSettings
from snakelab.store.url import is_sqlite, mask_url, resolve_url, sqlite_path

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from snakelab.store.lineage import RunContext
    from snakelab.store.record import RunRecord

log = logging.getLogger("snakelab.store")
T = TypeVar("T")


class Store:
    """A metastore at one URL. Thread-safe; one per process is enough.

    Parameters
    ----------
    url:
        Normalised store URL (see :func:`snakelab.store.url.resolve_url`).
    settings:
        The ``store.*`` settings.
    create:
        Whether first use may create the database and migrate its schema (writers) or must find it
        initialised at head (readers).
    """

    def __init__(self, url: str, settings: StoreSettings | None = None, create: bool = False) -> None:
        self.url = url
        self.settings = settings or StoreSettings()
        self.create = create
        #: number of units of work retried after a transient error (locked/busy/lost connection).
        self.retries = 0
        self._engine: Engine | None = None
        self._keeper: Any = None
        self._ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Store({self.masked_url!r}, create={self.create})"

    @property
    def masked_url(self) -> str:
        """The URL with its password replaced by ``***``."""
        return mask_url(self.url)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return "sqlite" if is_sqlite(self.url) else "postgresql"

    # -- engine and schema ---------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine, made on first access; the schema is checked (and migrated, if ``create``)."""
        self.ensure_schema()
        assert self._engine is not None
        return self._engine

    def raw_engine(self) -> Engine:
        """The engine without any schema check (for ``current``/``upgrade`` and tests).

        Raises :class:`StoreNotInitialised` for a missing SQLite file unless the store was opened
        with ``create=True``.
        """
        with self._lock:
            if self._engine is None:
                if self.dialect == "sqlite":
                    if not self.create and not sqlite_path(self.url).is_file():
                        raise StoreNotInitialised(self.masked_url)
                    if self.create:
                        sqlite_path(self.url).parent.mkdir(parents=True, exist_ok=True)
                from snakelab.store.engine import make_engine

                self._engine = make_engine(self.url, self.settings)
            return self._engine

    def current_revision(self) -> str | None:
        """The schema revision recorded in the database (``None``: tables not created yet)."""
        from snakelab.store.schema import current_revision

        def read() -> str | None:
            with self._connect() as connection:
                return current_revision(connection)

        return self._opening(read)

    def upgrade(self) -> str | None:
        """Migrate the schema to head (regardless of ``store.auto_upgrade``); return the revision."""
        from snakelab.store.schema import check_revision, upgrade

        check_revision(self.current_revision(), self.url, auto_upgrade=True, writable=True)
        revision = self._opening(
            lambda: upgrade(self.raw_engine(), self.url, lock_timeout_s=self.settings.retry_seconds)
        )
        self._ready = True
        return revision

    def ensure_schema(self) -> None:
        """Check the schema now (and, with ``create=True``, create/migrate it); done once per store.

        Raises :class:`StoreNotInitialised` (read-only, no database or no schema) or
        :class:`~snakelab.store.errors.SchemaMismatch`.
        """
        if self._ready:
            return
        from snakelab.store.schema import check_revision, upgrade

        revision = self.current_revision()
        if revision is None and not self.create:
            raise StoreNotInitialised(self.masked_url)
        needs_upgrade = check_revision(
            revision,
            self.url,
            auto_upgrade=self.settings.auto_upgrade or revision is None,
            writable=self.create,
        )
        if needs_upgrade:
            after = self._opening(
                lambda: upgrade(self.raw_engine(), self.url, lock_timeout_s=self.settings.retry_seconds)
            )
            log.info("store %s: schema at revision %s", self.masked_url, after)
        self._keep_wal()
        self._ready = True

    def _keep_wal(self) -> None:
        """Hold the WAL index open (SQLite; see :class:`~snakelab.store.engine.WalKeeper`). Only a
        speed-up: a keeper that cannot connect is skipped."""
        if self.dialect == "sqlite" and self._keeper is None:
            import sqlite3

            from snakelab.store.engine import WalKeeper

            try:
                self._keeper = WalKeeper(sqlite_path(self.url))
            except sqlite3.Error as exc:
                log.debug("store %s: no WAL keeper (%s)", self.masked_url, exc)

    def _opening(self, work: Callable[[], T]) -> T:
        """``work()`` with retries; a database error that is not transient becomes a :class:`StoreError`."""
        from sqlalchemy.exc import DBAPIError

        from snakelab.store.retry import first_line

        try:
            return self._retrying(work)
        except DBAPIError as exc:
            raise StoreError(f"cannot open store {self.masked_url}: {first_line(exc)}") from exc

    @contextmanager
    def _connect(self) -> Iterator[Any]:
        from snakelab.store.engine import WRITE_OPTION

        with self.raw_engine().execution_options(**{WRITE_OPTION: False}).connect() as connection:
            yield connection

    # -- units of work -------------------------------------------------------------------------

    def transaction(self, unit: Callable[[Session], T]) -> T:
        """Run ``unit(session)`` in one write transaction and commit; return its result.

        The whole unit is retried on a locked/busy database, a PostgreSQL serialization failure or
        deadlock, or a lost connection (back-off 0.05 s·2^k ±50 %, at most 2 s) until
        ``store.retry_seconds`` have passed, then :class:`StoreBusyError` is raised. ``unit`` must
        therefore be safe to run again: no file I/O, no training, nothing but database work. Objects
        it returns stay usable after the session closes (attributes are not expired).
        On SQLite the transaction starts with ``BEGIN IMMEDIATE``.
        """
        from sqlalchemy.orm import Session

        engine = self.engine

        def attempt() -> T:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                return unit(session)

        return self._retrying(attempt)

    def _retrying(self, work: Callable[[], T]) -> T:
        """``work()``, repeated after transient database errors until ``store.retry_seconds`` run out."""
        from sqlalchemy.exc import DBAPIError

        from snakelab.store.retry import backoff_seconds, first_line, is_transient

        started = time.monotonic()
        attempt = 0
        while True:
            try:
                return work()
            except DBAPIError as exc:
                if not is_transient(exc):
                    raise
                waited = time.monotonic() - started
                delay = backoff_seconds(attempt)
                if waited + delay > self.settings.retry_seconds:
                    raise StoreBusyError(self.masked_url, waited, attempt + 1, first_line(exc)) from exc
                log.debug(
                    "store %s busy (attempt %d): retrying in %.3f s", self.masked_url, attempt + 1, delay
                )
                self.retries += 1
                attempt += 1
                time.sleep(delay)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (SQLite: a deferred ``BEGIN``, so readers never wait for writers).

        Nothing is committed; for writes use :meth:`transaction`.
        """
        from sqlalchemy.orm import Session

        from snakelab.store.engine import WRITE_OPTION

        engine = self.engine.execution_options(**{WRITE_OPTION: False})
        with Session(engine, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.rollback()

    # -- lineage -------------------------------------------------------------------------------

    def run(
        self,
        pipeline: str,
        kind: str,
        config: Mapping[str, Any] | None = None,
        seed: int | None = None,
        params: Mapping[str, Any] | None = None,
        inputs: Mapping[str, str | Path] | None = None,
        parent: str | RunRecord | RunContext | None = None,
        name: str | None = None,
        run_dir: str | Path | None = None,
    ) -> AbstractContextManager[RunContext]:
        """Record one unit of work (spec §9); see :func:`snakelab.store.lineage.record_run`.

        Raises :class:`~snakelab.store.errors.RunExists` on entry when the same unit already
        succeeded and its outputs are intact.
        """
        from snakelab.store.lineage import record_run

        return record_run(
            self,
            pipeline=pipeline,
            kind=kind,
            config=config,
            seed=seed,
            params=params,
            inputs=inputs,
            parent=parent,
            name=name,
            run_dir=run_dir,
        )

    def find_run(self, uid: str) -> RunRecord | None:
        """The stored run with this uid (with inputs, outputs and metrics), or ``None``."""
        from snakelab.store.record import load_record

        with self.read() as session:
            return load_record(session, uid)

    def dispose(self) -> None:
        """Close every connection the store holds; it can still be used afterwards (and reconnects)."""
        if self._keeper is not None:
            self._keeper.close()
            self._keeper = None
            self._ready = False
        if self._engine is not None:
            self._engine.dispose()


def open_store(
    url: str | None = None, *, create: bool = False, config: Mapping[str, Any] | None = None
) -> Store:
    """Open the store at ``url`` (``None``: ``SNAKELAB_STORE_URL``, then ``config['url']``, then the default).

    ``config`` is the config's ``store`` section (settings of spec §11). Opens no connection and
    creates no file; see the module docstring for ``create``.
    """
    resolved = resolve_url(url, config)
    settings = StoreSettings.from_config(config)
    log.debug("store %s (from %s), create=%s", resolved.masked, resolved.source, create)
    return Store(resolved.url, settings, create=create)
