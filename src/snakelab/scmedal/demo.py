"""Demo data (spec §11): real 10x PBMC cells with four pseudo-batches and a planted batch effect.

``scanpy.datasets.pbmc68k_reduced()`` ships inside the scanpy wheel (no network): 700 cells × 765
genes, ``.raw`` log-normalised. Cells are dealt into 4 batches of 175 stratified by cell type (batch
independent of biology); per batch b and gene g, a_bg, c_bg ~ N(0, 0.3²) and every non-zero entry x
becomes T_b(x) = max(0, x·exp(a_bg) + c_bg) (zeros stay 0). The clean matrix, a, c and the seed are
stored with the data: the ground truth for batch mixing and counterfactuals.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core.atomic import atomic_path

log = logging.getLogger("snakelab.scmedal.demo")

N_BATCHES = 4
EFFECT_SD = 0.3


def stratified_batches(labels: np.ndarray, n_batches: int, rng: np.random.Generator) -> np.ndarray:
    """Batch index (0-based) per cell: cells of each label shuffled and dealt round-robin in turn.

    Every batch gets ⌊n/n_batches⌋ or ⌈n/n_batches⌉ cells, and each label is split as evenly.
    """
    order = np.concatenate([rng.permutation(np.flatnonzero(labels == u)) for u in np.unique(labels)])
    out = np.empty(labels.shape[0], dtype=np.int64)
    out[order] = np.arange(order.size) % n_batches
    return out


def apply_effect(clean: np.ndarray, batch: np.ndarray, a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """T_b(x) = max(0, x·exp(a_b) + c_b) on the non-zero entries of ``clean`` [cells, genes]."""
    x = np.asarray(clean, dtype=np.float64)
    out = np.maximum(0.0, x * np.exp(a[batch]) + c[batch])
    return np.where(x != 0, out, 0.0)


def make_demo(seed: int = 0) -> Any:
    """The demo AnnData: X (and .raw.X) with the planted effect, layers["clean"], obs batch/celltype/group."""
    import anndata as ad
    import pandas as pd
    import scanpy as sc
    import scipy.sparse as sp

    src = sc.datasets.pbmc68k_reduced()
    clean = src.raw.X.toarray() if sp.issparse(src.raw.X) else np.asarray(src.raw.X)
    rng = np.random.default_rng(seed)
    celltype = src.obs["bulk_labels"].astype(str).to_numpy()
    batch = stratified_batches(celltype, N_BATCHES, rng)
    a = rng.normal(0.0, EFFECT_SD, size=(N_BATCHES, clean.shape[1]))
    c = rng.normal(0.0, EFFECT_SD, size=(N_BATCHES, clean.shape[1]))
    x = apply_effect(clean, batch, a, c).astype(np.float32)
    names = np.array([f"batch{b + 1}" for b in range(N_BATCHES)])
    obs = pd.DataFrame(
        {
            "batch": pd.Categorical(names[batch]),
            "celltype": pd.Categorical(celltype),
            "group": pd.Categorical(np.where(batch < N_BATCHES // 2, "A", "B")),
        },
        index=src.obs_names.astype(str),
    )
    out = ad.AnnData(X=sp.csr_matrix(x), obs=obs, var=pd.DataFrame(index=src.raw.var_names.astype(str)))
    out.layers["clean"] = sp.csr_matrix(clean.astype(np.float32))
    out.raw = out.copy()
    out.uns["scmedal_demo"] = {"a": a, "c": c, "seed": seed, "batches": list(names)}
    return out


def write_demo(output: str | Path, seed: int = 0) -> Path:
    """Write the demo ``.h5ad`` atomically; return its path."""
    adata = make_demo(seed)
    with atomic_path(output) as tmp:
        adata.write_h5ad(tmp)
    log.info("demo data: %d cells x %d genes, %d batches -> %s", *adata.shape, N_BATCHES, output)
    return Path(output)


def planted_effect_correlation(cf_path: str | Path, demo_path: str | Path, derange: bool = False) -> float:
    """Pearson r between the counterfactuals' batch-specific deviations and the planted ones (spec §14).

    For the subset cells i and batches b: Δ = cf(i, b) − mean_b' cf(i, b') on the unscaled counterfactuals,
    Δ* = T_b(clean_i) − mean_b' T_b'(clean_i) from the demo's ground truth; r over the entries with
    clean > 0. ``derange`` pairs each counterfactual batch with another batch's truth (a cyclic shift of
    the truth's batch labels, a derangement), the null comparison.
    """
    import anndata as ad

    cf = np.load(cf_path)
    demo = ad.read_h5ad(demo_path)
    truth = demo.uns["scmedal_demo"]
    names = [str(b) for b in truth["batches"]]
    genes = [str(g) for g in cf["genes"]]
    col = demo.var_names.get_indexer(genes)
    row = demo.obs_names.get_indexer([str(n) for n in cf["obs_names"]])
    clean = demo.layers["clean"][row][:, col]
    clean = clean.toarray() if hasattr(clean, "toarray") else np.asarray(clean)
    lo, hi = (float(v) for v in cf["scaler"])
    recon = cf["recon"].astype(np.float64) * (hi - lo) + lo  # [b, n, G]
    targets = [names.index(str(b)) for b in cf["target_batches"]]
    a, c = np.asarray(truth["a"])[:, col], np.asarray(truth["c"])[:, col]
    planted = np.stack([apply_effect(clean, np.full(clean.shape[0], t), a, c) for t in targets])
    if derange:
        planted = np.roll(planted, 1, axis=0)
    delta = recon - recon.mean(axis=0, keepdims=True)
    delta_true = planted - planted.mean(axis=0, keepdims=True)
    mask = np.broadcast_to(clean > 0, delta.shape)
    return float(np.corrcoef(delta[mask], delta_true[mask])[0, 1])
