"""Dataset rows for the versioning tests (SQLite here, PostgreSQL in test_postgres)."""

from __future__ import annotations

from typing import Any

from snakelab.store import open_store
from snakelab.store.versioning import register_dataset


def dataset_values(content: str, name: str | None = "iris", typ: str = "tabular") -> dict[str, Any]:
    """Column values of a dataset whose content hash is derived from ``content``."""
    import hashlib

    return {
        "name": name,
        "typ": typ,
        "source_format": "dataframe",
        "is_ingested": True,
        "content_hash": hashlib.sha256(content.encode()).hexdigest(),
        "shape": {"samples": 150, "columns": 5},
        "columns": ["a", "b"],
        "kinds": [{"name": "a", "kind": "float"}],
    }


def register_worker(url: str, contents: list[str], barrier: Any, queue: Any) -> None:
    """Register each of ``contents`` as dataset ``race`` after the barrier; report the rows."""
    store = open_store(url, create=True, config={"busy_timeout_ms": 20})
    store.ensure_schema()
    barrier.wait()
    out = []
    for content in contents:
        row, created = register_dataset(store, dataset_values(content, name="race"))
        out.append((row.content_hash, row.version, created))
    queue.put(out)


def race(url: str, per_process: list[list[str]]) -> list[tuple[str, int, bool]]:
    """Run :func:`register_worker` in one spawned process per entry of ``per_process``."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(len(per_process)), ctx.Queue()
    procs = [ctx.Process(target=register_worker, args=(url, c, barrier, queue)) for c in per_process]
    for p in procs:
        p.start()
    results = [item for _ in procs for item in queue.get(timeout=120)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return results
