"""Parameter grids and marginal densities on them (spec §10, §11).

Grid: ``linspace(low_p, high_p, G)`` per parameter, ``ranges`` (n_params, G). Marginals are densities
on the grid normalised to unit mass: a 1-D marginal p (G,) has Σ_g p_g Δ_p = 1 and a 2-D marginal of
the pair (i, j), an array (G, G) with axis 0 = θ_i and axis 1 = θ_j, has Σ p Δ_i Δ_j = 1, Δ_p being
the grid spacing. Pairs are (i, j) with i < j in row-major order: (0, 1), (0, 2), …, (1, 2), ….
"""

from __future__ import annotations

import itertools

import numpy as np


def grid_ranges(low: np.ndarray, high: np.ndarray, gridsize: int = 100) -> np.ndarray:
    """``ranges`` (n_params, gridsize): ``linspace(low_p, high_p, gridsize)`` per parameter."""
    if gridsize < 2:
        raise ValueError(f"gridsize must be >= 2, found {gridsize}")
    return np.stack([np.linspace(lo, hi, gridsize) for lo, hi in zip(low, high, strict=True)])


def parameter_pairs(n_params: int) -> np.ndarray:
    """(n_pairs, 2) int array of the pairs (i, j), i < j, in row-major order."""
    pairs = list(itertools.combinations(range(n_params), 2))
    return np.asarray(pairs, dtype=np.int64).reshape(len(pairs), 2)


def spacing(ranges: np.ndarray) -> np.ndarray:
    """Grid spacing Δ_p (n_params,)."""
    return ranges[:, 1] - ranges[:, 0]


def normalise(density: np.ndarray, cell: float) -> np.ndarray:
    """``density`` divided by its grid mass Σ p · ``cell``; all zeros stay zeros."""
    total = float(density.sum()) * cell
    return density / total if total > 0 else np.zeros_like(density)


def bin_edges(grid: np.ndarray) -> np.ndarray:
    """Edges (G+1,) of histogram bins centred on the grid points."""
    step = grid[1] - grid[0]
    return np.concatenate([grid - step / 2, grid[-1:] + step / 2])


def histogram_marginals(
    samples: np.ndarray,
    ranges: np.ndarray,
    weights: np.ndarray | None = None,
    smoothing: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """1-D (n_params, G) and 2-D (n_pairs, G, G) marginal densities of ``samples`` (n, n_params).

    Histograms with bins centred on the grid points, optionally ``weights`` (n,), optionally
    smoothed by a Gaussian of σ = ``smoothing`` grid cells (``scipy.ndimage``), normalised to unit
    mass on the grid. No samples gives all-zero marginals.
    """
    from scipy.ndimage import gaussian_filter

    samples = np.asarray(samples, dtype=np.float64).reshape(-1, ranges.shape[0])
    n_params, size = ranges.shape
    delta = spacing(ranges)
    edges = [bin_edges(r) for r in ranges]
    m1 = np.zeros((n_params, size))
    for p in range(n_params):
        counts, _ = np.histogram(samples[:, p], bins=edges[p], weights=weights)
        if smoothing > 0:
            counts = gaussian_filter(counts.astype(np.float64), smoothing, mode="constant")
        m1[p] = normalise(counts.astype(np.float64), float(delta[p]))
    pairs = parameter_pairs(n_params)
    m2 = np.zeros((len(pairs), size, size))
    for k, (i, j) in enumerate(pairs):
        counts, _, _ = np.histogram2d(
            samples[:, i], samples[:, j], bins=[edges[i], edges[j]], weights=weights
        )
        if smoothing > 0:
            counts = gaussian_filter(counts, smoothing, mode="constant")
        m2[k] = normalise(counts, float(delta[i] * delta[j]))
    return m1, m2


def credible_levels(density: np.ndarray, masses: tuple[float, ...] = (0.68, 0.95)) -> np.ndarray:
    """Density thresholds enclosing each of ``masses`` of the grid mass (same order as ``masses``).

    The cells are sorted by density, highest first; the threshold for mass q is the density of the
    cell at which the cumulative mass first reaches q. Cell sizes are equal, so they cancel.
    """
    values = np.sort(np.asarray(density, dtype=np.float64).ravel())[::-1]
    total = values.sum()
    if total <= 0:
        return np.full(len(masses), np.nan)
    cumulative = np.cumsum(values) / total
    idx = [min(int(np.searchsorted(cumulative, q)), values.size - 1) for q in masses]
    return values[idx]
