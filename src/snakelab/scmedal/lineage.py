"""Lineage of scmedal jobs in the metastore (spec §12): dataset, splits hash, fold, config hash, model,
metric values and output files with hashes.

Recorded from the finished files (the files are the truth) when a store is named (``--store`` /
``store.url``, or SNAKELAB_STORE_URL); otherwise nothing happens. Each run's ``run.json`` goes to
``{root}/lineage/<kind>/<name>/``, outside the reference's documented tree. Recording the same unit
again (an unchanged rerun) finds the existing run and leaves it as it is.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from snakelab.scmedal.paths import Tree

log = logging.getLogger("snakelab.scmedal.lineage")


def store_url(explicit: str | None) -> str | None:
    """The metastore URL: ``--store``, else SNAKELAB_STORE_URL, else None (no recording)."""
    return explicit or os.environ.get("SNAKELAB_STORE_URL") or None


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def record(
    url: str | None,
    tree: Tree,
    kind: str,
    name: str,
    config: Mapping[str, Any],
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    artifacts: Mapping[str, str],
    seed: int | None = None,
) -> str | None:
    """Record one finished job; return its uid (None when no store is named or it was recorded before)."""
    url = store_url(url)
    if url is None:
        return None
    from snakelab.store import open_store
    from snakelab.store.errors import RunExists

    store = open_store(url, create=True)
    full = {"splits_sha256": _sha256(tree.splits()), "dataset": tree.dataset, **params}
    try:
        with store.run(
            pipeline="scmedal",
            kind=kind,
            config=dict(config),
            seed=seed,
            params=full,
            inputs={"adata": tree.adata(), "splits": tree.splits()},
            name=name,
            run_dir=Path(tree.root) / "lineage" / kind / name,
        ) as run:
            for key, value in metrics.items():
                run.log_metric(key, float(value))
            for role, path in artifacts.items():
                run.log_artifact(role, path)
            uid = run.uid
    except RunExists:
        log.info("lineage: %s %s already recorded", kind, name)
        return None
    finally:
        store.dispose()
    log.info("lineage: recorded %s %s as %s", kind, name, uid)
    return uid
