"""Synthetic counts for scaling tests and benchmarks (spec §11).

log-mean μ_tg = base_g + (rank-10 cell-type programme)_tg; batch shift s_bg ~ N(0, 0.3²); library
size L_i ~ LogNormal(log 2000, 0.3); counts ~ Poisson(L_i · softmax_g(μ_{t(i)g} + s_{b(i)g})), CSR
int32. Ground truth (base, programme, shifts) goes to ``uns["scmedal_synth"]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core.atomic import atomic_path
from snakelab.core.seeds import rng as seeded_rng


def make_synthetic(n_cells: int, n_genes: int, n_batches: int, n_celltypes: int, seed: int = 0) -> Any:
    """An AnnData of Poisson counts [n_cells, n_genes] with obs ``batch`` and ``celltype``."""
    import anndata as ad
    import pandas as pd
    import scipy.sparse as sp

    rng = seeded_rng(seed, 0)
    rank = min(10, n_celltypes, n_genes)
    base = rng.normal(0.0, 1.0, n_genes)
    programme = rng.normal(0.0, 1.0, (n_celltypes, rank)) @ rng.normal(
        0.0, 1.0 / np.sqrt(rank), (rank, n_genes)
    )
    shifts = rng.normal(0.0, 0.3, (n_batches, n_genes))
    celltype = rng.integers(0, n_celltypes, n_cells)
    batch = rng.integers(0, n_batches, n_cells)
    library = rng.lognormal(np.log(2000.0), 0.3, n_cells)
    rows = []
    chunk = 4096
    for start in range(0, n_cells, chunk):
        sl = slice(start, start + chunk)
        logits = base + programme[celltype[sl]] + shifts[batch[sl]]
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        rows.append(sp.csr_matrix(rng.poisson(library[sl, None] * p).astype(np.int32)))
    counts = sp.vstack(rows).tocsr()
    obs = pd.DataFrame(
        {
            "batch": pd.Categorical([f"batch{b:03d}" for b in batch]),
            "celltype": pd.Categorical([f"type{t:02d}" for t in celltype]),
        },
        index=[f"cell{i:07d}" for i in range(n_cells)],
    )
    out = ad.AnnData(X=counts, obs=obs, var=pd.DataFrame(index=[f"gene{g:05d}" for g in range(n_genes)]))
    out.uns["scmedal_synth"] = {"base": base, "programme": programme, "shifts": shifts, "seed": seed}
    return out


def write_synthetic(output: str | Path, **kwargs: Any) -> Path:
    """Write :func:`make_synthetic` (``kwargs``) as ``.h5ad`` atomically."""
    adata = make_synthetic(**kwargs)
    with atomic_path(output) as tmp:
        adata.write_h5ad(tmp)
    return Path(output)
