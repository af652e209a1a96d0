"""Small AnnData fixtures of the scmedal tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def counts_adata(n_cells: int = 120, n_genes: int = 60, n_batches: int = 3, n_types: int = 4, seed: int = 0):
    """Poisson counts with obs ``donor`` (batch) and ``type`` (cell type), CSR float32."""
    import anndata as ad
    import pandas as pd
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    types = rng.integers(0, n_types, n_cells)
    batches = np.arange(n_cells) % n_batches
    rates = (
        rng.gamma(1.0, 2.0, (n_types, n_genes))[types]
        * np.exp(rng.normal(0, 0.3, (n_batches, n_genes)))[batches]
    )
    x = rng.poisson(rates).astype(np.float32)
    obs = pd.DataFrame(
        {"donor": [f"d{b}" for b in batches], "type": [f"t{t}" for t in types]},
        index=[f"c{i}" for i in range(n_cells)],
    )
    return ad.AnnData(X=sp.csr_matrix(x), obs=obs, var=pd.DataFrame(index=[f"g{g}" for g in range(n_genes)]))


@pytest.fixture
def counts_h5ad(tmp_path: Path) -> Path:
    path = tmp_path / "counts.h5ad"
    counts_adata().write_h5ad(path)
    return path
