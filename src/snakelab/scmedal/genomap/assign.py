"""Hard one-to-one gene → pixel assignment from a GW coupling (spec §10)."""

from __future__ import annotations

import numpy as np

from snakelab.scmedal.genomap.grid import Grid


def hard_assignment(
    coupling: np.ndarray, grid: Grid, order_within_rings: bool = False, loadings: np.ndarray | None = None
) -> np.ndarray:
    """Pixel index [G] of every gene: ``linear_sum_assignment(−coupling)`` on the [G, n] plan (n = G).

    With ``order_within_rings`` (the ``sinkhorn`` rule), the genes the assignment puts in a ring are
    re-paired with that ring's pixels: genes by ascending ``loadings`` (first-PC loading; ties by gene
    index), pixels by ascending polar angle. The objective is indifferent to this, so the plan's value
    is unchanged and the picture becomes reproducible. Without it (``emd``) POT's assignment is kept.
    """
    from scipy.optimize import linear_sum_assignment

    g, n = coupling.shape
    if g != n or n != grid.n_pixels:
        raise ValueError(
            f"expected a square [G, G] plan over the grid's {grid.n_pixels} pixels, got {coupling.shape}"
        )
    rows, cols = linear_sum_assignment(-np.asarray(coupling, dtype=np.float64))
    pixel = np.empty(g, dtype=np.int64)
    pixel[rows] = cols
    if not order_within_rings:
        return pixel
    if loadings is None:
        raise ValueError("order_within_rings needs the genes' first-PC loadings")
    ring_of_gene = grid.ring[pixel]
    out = np.empty_like(pixel)
    for r in range(grid.n_rings):
        genes = np.flatnonzero(ring_of_gene == r)
        if genes.size == 0:
            continue
        genes = genes[np.argsort(loadings[genes], kind="stable")]
        pixels = np.flatnonzero(grid.ring == r)
        out[genes] = pixels[np.argsort(grid.angle[pixels], kind="stable")]
    return out
