"""Stage ``pca`` (spec §6): ``PCA(50, random_state=seed)`` fit on the scaled train matrix of a fold."""

from __future__ import annotations

import numpy as np

from snakelab.scmedal.data import FoldData


def pca_latents(data: FoldData, n_components: int, seed: int) -> dict[str, np.ndarray]:
    """{split: X_pca float32 [n, k]} with k = min(n_components, n_train, G)."""
    from sklearn.decomposition import PCA

    k = min(n_components, data.n("train"), data.n_genes)
    pca = PCA(n_components=k, random_state=seed).fit(data.rows("train"))
    return {s: pca.transform(data.rows(s)).astype(np.float32) for s in ("train", "val", "test")}
