"""One fold's data at load time (spec §2 "Scaling", §3): rows of each split, one-hot labels, scaler.

Scaling is fitted on the train rows of the fold, one scalar pair over the whole matrix:
x' = (x − min_train)/(max_train − min_train); val/test use the train pair (no clipping).
``scaling_per_split`` (faithful) scales each split by its own min and max.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core.errors import InputError
from snakelab.scmedal.config import SPLITS
from snakelab.scmedal.splits import fold_indices, read_splits


def min_max(x: Any) -> tuple[float, float]:
    """Global (min, max) of a dense or CSR matrix (implicit zeros count) in float64."""
    return float(x.min()), float(x.max())


def scale(x: np.ndarray, scaler: Mapping[str, float]) -> np.ndarray:
    """(x − min)/(max − min) as float32 (a constant matrix maps to 0)."""
    span = scaler["max"] - scaler["min"]
    return ((np.asarray(x, dtype=np.float64) - scaler["min"]) / (span if span > 0 else 1.0)).astype(
        np.float32
    )


def unscale(x: np.ndarray, scaler: Mapping[str, float]) -> np.ndarray:
    """Inverse of :func:`scale` (float64)."""
    return np.asarray(x, dtype=np.float64) * (scaler["max"] - scaler["min"]) + scaler["min"]


def one_hot(codes: np.ndarray, n: int) -> np.ndarray:
    """float32 one-hot [len(codes), n]; negative codes give all-zero rows."""
    out = np.zeros((codes.size, n), dtype=np.float32)
    ok = codes >= 0
    out[np.flatnonzero(ok), codes[ok]] = 1.0
    return out


@dataclass
class FoldData:
    """A fold: raw rows per split (dense or CSR), labels, scalers and the names that fix column orders."""

    fold: int
    index: dict[str, np.ndarray]
    raw: dict[str, Any]
    scalers: dict[str, dict[str, Any]]
    batch: dict[str, np.ndarray]
    celltype: dict[str, np.ndarray]
    batches: list[str]
    celltypes: list[str]
    genes: list[str]
    obs_names: dict[str, np.ndarray]
    obs: Any = None
    mode: str = "cells"
    dense: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_genes(self) -> int:
        return len(self.genes)

    def rows(self, split: str, idx: np.ndarray | slice | None = None) -> np.ndarray:
        """Scaled float32 rows ``idx`` (positions within the split) of ``split``."""
        if split in self.dense:
            return self.dense[split] if idx is None else self.dense[split][idx]
        x = self.raw[split] if idx is None else self.raw[split][idx]
        x = x.toarray() if hasattr(x, "toarray") else x
        return scale(x, self.scalers[split])

    def moments(self, split: str, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """Per-gene mean and SD (ddof 0), both (G,) float64, of the scaled rows of ``split``, read in
        chunks of ``chunk`` rows (no dense copy of a CSR split)."""
        n = self.n(split)
        total = np.zeros(self.n_genes)
        squares = np.zeros(self.n_genes)
        for start in range(0, n, chunk):
            x = self.rows(split, slice(start, min(start + chunk, n))).astype(np.float64)
            total += x.sum(axis=0)
            squares += np.square(x).sum(axis=0)
        mean = total / n
        return mean, np.sqrt(np.maximum(squares / n - np.square(mean), 0.0))

    def z(self, split: str) -> np.ndarray:
        """One-hot batch [n, B] (the label; every batch of the dataset is a column)."""
        return one_hot(self.batch[split], len(self.batches))

    def z_input(self, split: str) -> np.ndarray:
        """One-hot batch as RE input: all-zero rows for batches unseen in training (batches mode)."""
        seen = np.zeros(len(self.batches), dtype=bool)
        seen[np.unique(self.batch["train"])] = True
        codes = np.where(seen[self.batch[split]], self.batch[split], -1)
        return one_hot(codes, len(self.batches))

    def y(self, split: str) -> np.ndarray:
        """One-hot cell type [n, C]."""
        return one_hot(self.celltype[split], len(self.celltypes))

    def n(self, split: str) -> int:
        return int(self.index[split].size)


def load_fold(
    adata_path: str | Path,
    splits_path: str | Path,
    fold: int,
    per_split_scaling: bool = False,
    max_dense_gb: float = 8.0,
) -> FoldData:
    """Read ``adata.h5ad`` and one fold of ``splits.json``; scale per spec §2."""
    import anndata as ad
    import scipy.sparse as sp

    doc = read_splits(splits_path)
    idx = fold_indices(doc, fold, str(splits_path))
    adata = ad.read_h5ad(adata_path)
    names = adata.obs_names.astype(str)
    import hashlib

    if hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest() != doc["obs_names_sha256"]:
        raise InputError(
            splits_path, "obs_names_sha256", f"expected the splits of {adata_path} (cells differ)"
        )
    x = adata.X
    x = x.tocsr() if sp.issparse(x) else np.asarray(x)
    raw = {s: x[idx[s]] for s in SPLITS}
    train_pair = min_max(raw["train"])
    scalers = {}
    for s in SPLITS:
        lo, hi = min_max(raw[s]) if per_split_scaling else train_pair
        scalers[s] = {"min": lo, "max": hi, "fitted_on": s if per_split_scaling else "train"}
    bpos = {b: i for i, b in enumerate(doc["batches"])}
    cpos = {c: i for i, c in enumerate(doc["celltypes"])}
    batch_all = np.array([bpos[b] for b in adata.obs["batch"].astype(str)], dtype=np.int64)
    type_all = np.array([cpos[c] for c in adata.obs["celltype"].astype(str)], dtype=np.int64)
    data = FoldData(
        fold=int(fold),
        index=idx,
        raw=raw,
        scalers=scalers,
        batch={s: batch_all[idx[s]] for s in SPLITS},
        celltype={s: type_all[idx[s]] for s in SPLITS},
        batches=list(doc["batches"]),
        celltypes=list(doc["celltypes"]),
        genes=list(adata.var_names.astype(str)),
        obs_names={s: np.asarray(names[idx[s]]) for s in SPLITS},
        obs=adata.obs,
        mode=doc["mode"],
    )
    for s in SPLITS:
        if data.n(s) * data.n_genes * 4 <= max_dense_gb * 1e9:
            data.dense[s] = data.rows(s)
    return data
