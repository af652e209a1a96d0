"""Record a fit in the metastore (``store.url`` / ``--store`` or SNAKELAB_STORE_URL; nothing otherwise).

One lineage run per fit: pipeline ``imnn``, kind ``fit``, the resolved section as config, its seed,
params (run name, mode, storage, simulator), inputs (``config.json`` and any external arrays); metrics:
the final |F|, its ratio to the analytic value, iterations, timings, and |F| per iteration (split
``training`` / ``validation``); artefacts: every file of ``fit/``. ``run.json`` goes to
``<run>/lineage/fit/``. A fit already recorded with intact outputs is not recorded again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.imnn import config

log = logging.getLogger("snakelab.imnn.lineage")
OUTPUTS = ("weights.npz", "statistics.npz", "history.npz", "history.csv", "metrics.json")
SCALARS = ("detF_final", "ratio", "iterations", "best_iteration", "max_detF", "alpha", "wall_s", "compile_s")


def enabled(store_url: str | None) -> bool:
    """Whether a store is named (``--store`` or SNAKELAB_STORE_URL)."""
    return bool(store_url or os.environ.get("SNAKELAB_STORE_URL"))


@contextmanager
def fit_run(
    store_url: str | None, section: Mapping[str, Any], config_path: str | Path, fit_dir: Path
) -> Iterator[Any]:
    """A store run context around the fit (None when no store is named or the fit is recorded)."""
    if not enabled(store_url):
        yield None
        return
    from snakelab.store import open_store
    from snakelab.store.errors import RunExists

    store = open_store(store_url, create=True)
    inputs: dict[str, str | Path] = {"config": Path(config_path)}
    for name, path in (section.get("data") or {}).items():
        if path:
            inputs[name] = Path(path)
    run_name = config.run_name(section)
    simulator = (section.get("simulator") or {}).get("name")
    params = {"run": run_name, "mode": section["mode"], "storage": section["storage"], "simulator": simulator}
    try:
        try:
            with store.run(
                pipeline="imnn",
                kind="fit",
                config=dict(section),
                seed=section["seed"],
                params=params,
                inputs=inputs,
                name=f"{run_name}/fit",
                run_dir=fit_dir.parent / "lineage" / "fit",
            ) as run:
                yield run
                return
        except RunExists:  # raised on entry only: this fit is recorded and its outputs are intact
            log.info("fit of %s already recorded", run_name)
        yield None
    finally:
        store.dispose()


def record_outputs(run: Any, fit_dir: Path, metrics: Mapping[str, Any]) -> None:
    """Metrics and artefacts of a finished fit on ``run`` (a store run context)."""
    run.log_metrics({k: metrics[k] for k in SCALARS if metrics.get(k) is not None})
    with np.load(fit_dir / "history.npz") as h:
        for split, key in (("training", "detF"), ("validation", "val_detF")):
            if key in h.files:
                for i, value in enumerate(h[key]):
                    run.log_metric("detF", float(value), step=i, split=split)
    for name in OUTPUTS:
        run.log_artifact(name.replace(".", "_"), fit_dir / name)
