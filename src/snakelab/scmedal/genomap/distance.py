"""Gene distance C1 = 1 − Pearson correlation between genes (spec §10) and the first-PC gene loadings."""

from __future__ import annotations

import numpy as np


def gene_correlation(x: np.ndarray) -> np.ndarray:
    """Pearson correlation between the columns of ``x`` [rows, G], float64 [G, G].

    One symmetric rank-k update (BLAS ``dsyrk``, half the work of ``XᵀX``) on the centred matrix.
    Constant genes get correlation 0 with every other gene and 1 with themselves.
    """
    from scipy.linalg.blas import dsyrk

    xc = np.asarray(x, dtype=np.float64)
    xc = np.asfortranarray(xc - xc.mean(axis=0))
    gram = dsyrk(1.0, xc, trans=1)  # upper triangle of xcᵀ xc
    norm = np.sqrt(np.diag(gram).copy())
    scale = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)
    upper = np.triu(gram * scale[:, None] * scale[None, :])
    corr = upper + np.triu(upper, 1).T  # exactly symmetric
    np.fill_diagonal(corr, 1.0)
    return corr


def gene_distance(x: np.ndarray) -> np.ndarray:
    """``C1 = 1 − corrcoef(xᵀ)``, float64 [G, G], clipped to [0, 2]; constant genes at distance 1, diagonal 0.

    Equals ``sklearn.metrics.pairwise_distances(x.T, metric="correlation")`` for non-constant genes.
    """
    c1 = 1.0 - gene_correlation(x)
    np.clip(c1, 0.0, 2.0, out=c1)
    np.fill_diagonal(c1, 0.0)
    return c1


def first_pc_loadings(c1: np.ndarray) -> np.ndarray:
    """Gene loadings [G] of the first principal component of the z-scored matrix C1 was computed from.

    The correlation matrix is ``1 − C1`` (constant genes: 0 off the diagonal), whose leading eigenvector is
    PC1 of the z-scored data. Sign fixed so that the largest-magnitude loading is positive (deterministic).
    """
    from scipy.sparse.linalg import eigsh

    corr = 1.0 - np.asarray(c1, dtype=np.float64)
    g = corr.shape[0]
    if g < 3:
        _, vecs = np.linalg.eigh(corr)
        v = vecs[:, -1]
    else:
        _, vecs = eigsh(corr, k=1, which="LA", v0=np.ones(g) / np.sqrt(g))
        v = vecs[:, 0]
    return v if v[np.argmax(np.abs(v))] > 0 else -v
