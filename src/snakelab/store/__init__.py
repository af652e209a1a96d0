"""The snakelab metastore: lineage, metrics and the tabular experiment tables (spec §1–4, §9, §10).

Importing this package creates no file, opens no connection and loads neither SQLAlchemy nor pandas:
the public names below are resolved on first access. A store is opened with :func:`open_store`; the
engine is made, and the schema checked (or migrated when ``create=True``), on its first use.

>>> from snakelab.store import open_store                       # doctest: +SKIP
>>> store = open_store("sqlite:///results/snakelab.sqlite", create=True)
>>> with store.run(pipeline="imnn", kind="fit", config=cfg, seed=0) as run:
...     run.log_metric("fisher_det", 12.5, step=3)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snakelab.core.lazy import lazy_exports

if TYPE_CHECKING:
    from snakelab.store.core import Store, open_store
    from snakelab.store.errors import (
        RunExists,
        RunInProgress,
        SchemaMismatch,
        StoreBusyError,
        StoreError,
        StoreNotInitialised,
    )
    from snakelab.store.lineage import RunContext
    from snakelab.store.record import RunRecord

#: public name → module that defines it (loaded on first attribute access, PEP 562).
_EXPORTS = {
    "Store": "snakelab.store.core",
    "open_store": "snakelab.store.core",
    "RunContext": "snakelab.store.lineage",
    "RunRecord": "snakelab.store.record",
    "StoreError": "snakelab.store.errors",
    "StoreNotInitialised": "snakelab.store.errors",
    "SchemaMismatch": "snakelab.store.errors",
    "StoreBusyError": "snakelab.store.errors",
    "RunExists": "snakelab.store.errors",
    "RunInProgress": "snakelab.store.errors",
}

__all__ = [
    "RunContext",
    "RunExists",
    "RunInProgress",
    "RunRecord",
    "SchemaMismatch",
    "Store",
    "StoreBusyError",
    "StoreError",
    "StoreNotInitialised",
    "open_store",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
