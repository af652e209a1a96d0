"""Stage ``counterfactuals`` (spec §5): load the fold's RE model, reconstruct a cell subset into
every (or the listed) batch, write ``cf_<split>_<subset_id>.npz`` atomically."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from snakelab.core.atomic import atomic_path
from snakelab.core.errors import InputError
from snakelab.scmedal.counterfactuals import counterfactual_recon, subset_id
from snakelab.scmedal.paths import Tree

log = logging.getLogger("snakelab.scmedal.counterfactuals")


def subset_rows(
    spec: Mapping[str, Any], obs_names: np.ndarray, celltypes: np.ndarray, batches: np.ndarray, fold: int
) -> np.ndarray:
    """Row positions (within the split) of the subset: explicit ``obs_names`` or a seeded selection."""
    if spec.get("obs_names"):
        pos = {n: i for i, n in enumerate(obs_names)}
        missing = [n for n in spec["obs_names"] if n not in pos]
        if missing:
            raise InputError(
                None,
                "counterfactuals.subsets.obs_names",
                f"expected cells of the {spec['split']} split, found {missing[0]!r}",
            )
        return np.array([pos[n] for n in spec["obs_names"]], dtype=np.int64)
    import pandas as pd

    from snakelab.scmedal.genomap.sampling import select_cells

    obs = pd.DataFrame({"batch": batches, "celltype": celltypes})
    return select_cells(
        obs, int(spec["n_cells"]), int(spec["seed"]), fold, spec.get("celltypes"), spec.get("forced_batches")
    )


def run_counterfactuals(
    cfg: Mapping[str, Any], tree: Tree, dataset: str, fold: int, spec: Mapping[str, Any]
) -> str:
    """Compute and write the counterfactuals of ``spec``; return the output path."""
    from snakelab.scmedal.data import load_fold
    from snakelab.scmedal.models.training import inference_function
    from snakelab.scmedal.runtime import setup_tensorflow
    from snakelab.scmedal.train import job_seeds, load_trained

    setup_tensorflow(
        job_seeds(cfg, fold, "scmedalre")["keras"], int(cfg["training"]["threads"]), cfg["training"]["device"]
    )
    data = load_fold(
        tree.adata(),
        tree.splits(),
        fold,
        cfg["faithful"]["scaling_per_split"],
        cfg["training"]["max_dense_gb"],
    )
    split = spec["split"]
    names = data.obs_names[split]
    types = np.asarray(data.celltypes)[data.celltype[split]]
    bnames = np.asarray(data.batches)[data.batch[split]]
    rows = subset_rows(spec, names, types, bnames, fold)
    if rows.size == 0:
        raise InputError(
            None, "counterfactuals subset", f"expected cells of {spec.get('celltypes')} in the {split} split"
        )
    targets = spec.get("target_batches") or data.batches
    unknown = [b for b in targets if b not in data.batches]
    if unknown:
        raise InputError(None, "target_batches", f"expected batches of {data.batches}, found {unknown[0]!r}")
    target_idx = [data.batches.index(b) for b in targets]
    model = load_trained(cfg, dataset, "scmedalre", fold, data)
    t0 = time.perf_counter()
    x = data.rows(split, rows)
    recon = counterfactual_recon(
        inference_function(model),
        x,
        target_idx,
        len(data.batches),
        int(cfg["training"]["inference_batch_size"]),
    )
    log.info(
        "counterfactuals: %d cells x %d batches in %.2f s",
        rows.size,
        len(target_idx),
        time.perf_counter() - t0,
    )
    out = tree.counterfactuals(fold, split, subset_id(spec))
    scaler = data.scalers[split]
    with atomic_path(out) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            obs_index=data.index[split][rows].astype(np.int64),
            obs_names=names[rows].astype(str),
            source_batch=bnames[rows].astype(str),
            celltype=types[rows].astype(str),
            target_batches=np.asarray(targets, dtype=str),
            genes=np.asarray(data.genes, dtype=str),
            recon=recon.astype(np.dtype(cfg["counterfactuals"]["dtype"])),
            scaler=np.array([scaler["min"], scaler["max"]], dtype=np.float64),
        )
    return out
