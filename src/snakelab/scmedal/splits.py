"""Cross-validation splits (spec §3) → ``splits.json``.

Cells mode: stratum = batch_celltype (rare strata merged into ``<batch>__rare``, then ``__rare``),
``StratifiedKFold(n_folds, shuffle=True, random_state=seed)``; split k: test = F_{k−1}, val = F_{k mod
n}, train = the rest. Batches mode: ``StratifiedGroupKFold`` with groups = batch (test batches unseen),
val = a stratified 25% of the remaining cells.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core.atomic import write_text
from snakelab.core.errors import InputError

log = logging.getLogger("snakelab.scmedal.splits")
FORMAT = "snakelab.scmedal.splits/1"


def merge_rare(batch: np.ndarray, celltype: np.ndarray, n_folds: int) -> np.ndarray:
    """Stratum label per cell: ``batch_celltype``; strata with < n_folds cells become ``<batch>__rare``,
    those still too small ``__rare`` (merged into the largest stratum if even that is too small)."""
    strata = np.array([f"{b}_{c}" for b, c in zip(batch, celltype, strict=True)], dtype=object)
    for _ in range(2):
        values, counts = np.unique(strata, return_counts=True)
        small = set(values[counts < n_folds])
        if not small:
            break
        for i, s in enumerate(strata):
            if s in small:
                strata[i] = "__rare" if s.endswith("__rare") else f"{batch[i]}__rare"
    values, counts = np.unique(strata, return_counts=True)
    if (counts < n_folds).any():
        largest = values[np.argmax(counts)]
        strata[np.isin(strata, values[counts < n_folds])] = largest
    return strata.astype(str)


def _check_counts(labels: np.ndarray, n_folds: int, field: str, source: str | None) -> None:
    values, counts = np.unique(labels, return_counts=True)
    if (counts < n_folds).any():
        bad = str(values[counts < n_folds][0])
        raise InputError(
            source,
            f"obs[{field!r}]",
            f"expected >= {n_folds} cells per {field} for {n_folds} folds, "
            f"found {int(counts[values == bad][0])} in {bad!r}",
        )


def cell_folds(batch: np.ndarray, celltype: np.ndarray, n_folds: int, seed: int) -> list[np.ndarray]:
    """Test indices F_0..F_{n−1} of StratifiedKFold on the merged strata, in generator order."""
    from sklearn.model_selection import StratifiedKFold

    strata = merge_rare(batch, celltype, n_folds)
    skf = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [np.sort(test) for _, test in skf.split(np.zeros(len(strata)), strata)]


def cell_splits(
    batch: np.ndarray, celltype: np.ndarray, n_folds: int, seed: int
) -> dict[str, dict[str, list[int]]]:
    """Split k (1-based): test = F_{k−1}, val = F_{k mod n}, train = the rest (sorted 0-based rows)."""
    folds = cell_folds(batch, celltype, n_folds, seed)
    out = {}
    for k in range(1, n_folds + 1):
        test, val = folds[k - 1], folds[k % n_folds]
        train = np.sort(np.concatenate([folds[j] for j in range(n_folds) if j not in (k - 1, k % n_folds)]))
        out[str(k)] = {"train": train.tolist(), "val": val.tolist(), "test": test.tolist()}
    return out


def batch_splits(
    batch: np.ndarray, celltype: np.ndarray, stratify: np.ndarray, n_folds: int, seed: int
) -> dict[str, dict[str, list[int]]]:
    """Batches held out: StratifiedGroupKFold(groups = batch, y = stratify); val = a stratified 25%
    of the remaining cells."""
    from sklearn.model_selection import StratifiedGroupKFold, train_test_split

    sgkf = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    out = {}
    for k, (rest, test) in enumerate(sgkf.split(np.zeros(len(batch)), stratify, groups=batch), start=1):
        strata = merge_rare(batch[rest], celltype[rest], 4)
        train, val = train_test_split(rest, test_size=0.25, random_state=seed, stratify=strata)
        out[str(k)] = {
            "train": np.sort(train).tolist(),
            "val": np.sort(val).tolist(),
            "test": np.sort(test).tolist(),
        }
    return out


def make_splits(
    obs_names: Sequence[str],
    batch: np.ndarray,
    celltype: np.ndarray,
    mode: str,
    n_folds: int,
    seed: int,
    stratify: np.ndarray | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """The splits document (spec §3 "File") for cells with labels ``batch`` and ``celltype``."""
    batch, celltype = np.asarray(batch).astype(str), np.asarray(celltype).astype(str)
    batches = sorted(set(batch))
    if mode == "cells":
        _check_counts(batch, n_folds, "batch", source)
        _check_counts(celltype, n_folds, "celltype", source)
        folds = cell_splits(batch, celltype, n_folds, seed)
    elif mode == "batches":
        if len(batches) < n_folds:
            raise InputError(
                source,
                "obs['batch']",
                f"expected >= {n_folds} batches for batches mode, found {len(batches)}",
            )
        folds = batch_splits(
            batch, celltype, celltype if stratify is None else np.asarray(stratify).astype(str), n_folds, seed
        )
    else:
        raise InputError(source, "splits.mode", f"expected cells or batches, found {mode!r}")
    digest = hashlib.sha256("\n".join(obs_names).encode("utf-8")).hexdigest()
    return {
        "format": FORMAT,
        "mode": mode,
        "n_folds": n_folds,
        "seed": seed,
        "n_cells": len(obs_names),
        "obs_names_sha256": digest,
        "batches": batches,
        "celltypes": sorted(set(celltype)),
        "folds": folds,
    }


def run(
    adata_path: str | Path, params: Mapping[str, Any], targets: Sequence[str], output: str | Path
) -> None:
    """Stage ``splits``: read the preprocessed ``adata.h5ad`` obs and write ``splits.json``."""
    import anndata as ad

    adata = ad.read_h5ad(adata_path, backed="r")
    obs = adata.obs
    stratify = None
    if params["mode"] == "batches":
        column = params.get("holdout_stratify") or (targets[0] if targets else "celltype")
        if column not in obs.columns:
            raise InputError(adata_path, f"obs[{column!r}]", "expected the holdout_stratify column")
        stratify = obs[column].astype(str).to_numpy()
    doc = make_splits(
        list(obs.index.astype(str)),
        obs["batch"].astype(str).to_numpy(),
        obs["celltype"].astype(str).to_numpy(),
        params["mode"],
        int(params["n_folds"]),
        int(params["seed"]),
        stratify,
        str(adata_path),
    )
    adata.file.close()
    write_text(output, json.dumps(doc, separators=(",", ":")) + "\n")
    log.info("splits (%s, %d folds) -> %s", params["mode"], params["n_folds"], output)


def read_splits(path: str | Path) -> dict[str, Any]:
    """``splits.json`` (checked for its format tag)."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    if doc.get("format") != FORMAT:
        raise InputError(path, "format", f"expected {FORMAT!r}")
    return doc


def fold_indices(doc: Mapping[str, Any], fold: int | str, source: str | None = None) -> dict[str, np.ndarray]:
    """{split: int64 row indices} of one fold."""
    key = str(fold)
    if key not in doc["folds"]:
        raise InputError(source, "fold", f"expected one of {sorted(doc['folds'], key=int)}, found {fold!r}")
    return {s: np.asarray(v, dtype=np.int64) for s, v in doc["folds"][key].items()}
