"""The multibatch matrix of a genomap and its ``CMmultibatch_<gname>/`` directory (spec §10).

Rows = [scaled input; scmedalfe reconstruction; RE counterfactual into batch b for each of the B batches],
each block the same n cells in the same order: (B + 2)·n rows × G genes. Every gene is z-scored over all rows
(ddof 1; genes with zero SD → 0). Files (written together, atomically, as one directory):

* ``exprMatrix.npy`` float32 [(B + 2)·n, G], z-scored;
* ``geneids.csv`` one column ``gene``;
* ``meta.csv`` columns ``obs_name, batch, celltype, block, cf_batch`` (block ∈ input | fe_recon | cf;
  ``cf_batch`` the target batch of a cf row, empty otherwise).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from snakelab.core.atomic import atomic_directory
from snakelab.core.errors import InputError

META_COLUMNS = ("obs_name", "batch", "celltype", "block", "cf_batch")
BLOCKS = ("input", "fe_recon", "cf")


def zscore_genes(x: np.ndarray) -> np.ndarray:
    """Column z-scores of ``x`` [rows, G] (float64, ddof 1); columns with zero SD become 0."""
    x = np.asarray(x, dtype=np.float64)
    sd = x.std(axis=0, ddof=1)
    z = x - x.mean(axis=0)
    np.divide(z, sd, out=z, where=sd > 0)
    z[:, ~(sd > 0)] = 0.0
    return z


def build_multibatch(
    x_input: np.ndarray,
    fe_recon: np.ndarray,
    counterfactuals: np.ndarray,
    obs: pd.DataFrame,
    cf_batches: Sequence[str],
) -> tuple[np.ndarray, pd.DataFrame]:
    """Stack and z-score the blocks; return (matrix float32 [(B + 2)·n, G], meta DataFrame).

    ``x_input``, ``fe_recon`` [n, G] (scaled space); ``counterfactuals`` [B, n, G] (the cf npz's ``recon``);
    ``obs`` [n] with ``obs_name``, ``batch``, ``celltype`` of the cells in row order; ``cf_batches`` [B] the
    counterfactual target batches in the order of ``counterfactuals``.
    """
    x_input, fe_recon, cf = (np.asarray(a) for a in (x_input, fe_recon, counterfactuals))
    n, g = x_input.shape
    if fe_recon.shape != (n, g):
        raise InputError(None, "fe_recon", f"shape {(n, g)} like the input block, found {fe_recon.shape}")
    if cf.ndim != 3 or cf.shape[1:] != (n, g) or cf.shape[0] != len(cf_batches):
        raise InputError(None, "counterfactuals", f"shape ({len(cf_batches)}, {n}, {g}), found {cf.shape}")
    missing = [c for c in ("obs_name", "batch", "celltype") if c not in obs.columns]
    if missing or len(obs) != n:
        raise InputError(None, "obs", f"{n} rows with columns obs_name, batch, celltype")
    matrix = zscore_genes(np.concatenate([x_input[None], fe_recon[None], cf], axis=0).reshape(-1, g))
    base = obs[["obs_name", "batch", "celltype"]].astype(str).reset_index(drop=True)
    blocks = [base.assign(block="input", cf_batch=""), base.assign(block="fe_recon", cf_batch="")]
    blocks += [base.assign(block="cf", cf_batch=str(b)) for b in cf_batches]
    meta = pd.concat(blocks, ignore_index=True)[list(META_COLUMNS)]
    return matrix.astype(np.float32), meta


def write_multibatch(
    matrix_dir: str | os.PathLike[str], matrix: np.ndarray, genes: Sequence[str], meta: pd.DataFrame
) -> Path:
    """Write ``exprMatrix.npy``, ``geneids.csv``, ``meta.csv`` into ``matrix_dir`` (replaced atomically)."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    if matrix.shape != (len(meta), len(genes)):
        raise InputError(
            matrix_dir, "exprMatrix.npy", f"shape ({len(meta)}, {len(genes)}), found {matrix.shape}"
        )
    with atomic_directory(matrix_dir) as tmp:
        np.save(tmp / "exprMatrix.npy", matrix)
        pd.DataFrame({"gene": [str(x) for x in genes]}).to_csv(tmp / "geneids.csv", index=False)
        meta[list(META_COLUMNS)].to_csv(tmp / "meta.csv", index=False)
    return Path(matrix_dir)


def read_multibatch(matrix_dir: str | os.PathLike[str]) -> tuple[np.ndarray, list[str], pd.DataFrame]:
    """Read a ``CMmultibatch_<gname>/`` directory: (matrix float32 [rows, G], genes [G], meta [rows])."""
    d = Path(matrix_dir)
    for name in ("exprMatrix.npy", "geneids.csv", "meta.csv"):
        if not (d / name).is_file():
            raise InputError(d / name, "file", "present (written by the genomap stage's multibatch step)")
    matrix = np.load(d / "exprMatrix.npy", allow_pickle=False)
    genes = pd.read_csv(d / "geneids.csv", dtype=str, keep_default_na=False)["gene"].tolist()
    meta = pd.read_csv(d / "meta.csv", dtype=str, keep_default_na=False)
    if list(meta.columns) != list(META_COLUMNS):
        raise InputError(d / "meta.csv", "columns", f"{list(META_COLUMNS)}, found {list(meta.columns)}")
    if matrix.ndim != 2 or matrix.shape != (len(meta), len(genes)):
        raise InputError(d / "exprMatrix.npy", "shape", f"({len(meta)}, {len(genes)}), found {matrix.shape}")
    return matrix, genes, meta
