"""The genomap pixel grid: centred offsets, pixel radii, rings and the pixel distance C2 (spec §10).

Pixels are numbered column-major over an R × C grid: pixel ``p`` sits at row ``p % R``, column ``p // R``.
Offsets are centred integers (``linspace(−R/2, R/2 − 1, R)`` for even R, ``linspace(−(R−1)/2, (R−1)/2, R)``
for odd R; same for columns); radius ρ = √(x² + y²); ``C2[p, q] = |ρ_p − ρ_q|``. C2 depends only on the
radius, so pixels of equal radius form a **ring**, and everything the GW objective needs is a ring quantity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def axis_offsets(n: int) -> np.ndarray:
    """Centred offsets of ``n`` rows (or columns), float64 [n]."""
    if n < 1:
        raise ValueError(f"grid size must be positive, got {n}")
    if n % 2 == 0:
        return np.linspace(-n / 2, n / 2 - 1, n)
    return np.linspace(-(n - 1) / 2, (n - 1) / 2, n)


@dataclass(frozen=True)
class Grid:
    """The first ``n_pixels`` pixels (column-major) of an R × C grid and their rings.

    Attributes: ``rows``, ``cols`` [n] pixel coordinates; ``x``, ``y`` [n] centred offsets; ``radius`` [n];
    ``ring`` [n] int ring index of each pixel (rings sorted by radius); ``ring_radius`` [K];
    ``ring_size`` [K] pixels per ring; ``angle`` [n] polar angle ``atan2(y, x)`` in radians.
    """

    shape: tuple[int, int]
    rows: np.ndarray
    cols: np.ndarray
    x: np.ndarray
    y: np.ndarray
    radius: np.ndarray
    ring: np.ndarray
    ring_radius: np.ndarray
    ring_size: np.ndarray
    angle: np.ndarray

    @property
    def n_pixels(self) -> int:
        return int(self.radius.size)

    @property
    def n_rings(self) -> int:
        return int(self.ring_radius.size)


def make_grid(shape: tuple[int, int], n_pixels: int | None = None) -> Grid:
    """The R × C grid (``shape``) restricted to its first ``n_pixels`` column-major pixels (default all)."""
    n_rows, n_cols = int(shape[0]), int(shape[1])
    total = n_rows * n_cols
    n = total if n_pixels is None else int(n_pixels)
    if not 1 <= n <= total:
        raise ValueError(f"n_pixels must lie in 1..{total}, got {n}")
    p = np.arange(n)
    rows, cols = p % n_rows, p // n_rows
    x, y = axis_offsets(n_rows)[rows], axis_offsets(n_cols)[cols]
    r2 = x * x + y * y  # exact: the offsets are integers or half-integers
    ring_r2, ring = np.unique(r2, return_inverse=True)
    return Grid(
        shape=(n_rows, n_cols),
        rows=rows,
        cols=cols,
        x=x,
        y=y,
        radius=np.sqrt(r2),
        ring=ring.astype(np.int64),
        ring_radius=np.sqrt(ring_r2),
        ring_size=np.bincount(ring, minlength=ring_r2.size).astype(np.int64),
        angle=np.arctan2(y, x),
    )


def pixel_distance(grid: Grid) -> np.ndarray:
    """The dense pixel distance ``C2[p, q] = |ρ_p − ρ_q|``, float64 [n, n]."""
    return np.abs(grid.radius[:, None] - grid.radius[None, :])


def ring_log_distance(grid: Grid, eps: float = 1e-15) -> np.ndarray:
    """``Λ[r, s] = log(|ρ_r − ρ_s| + eps)`` between rings, float64 [K, K] (the ring form of log C2)."""
    return np.log(np.abs(grid.ring_radius[:, None] - grid.ring_radius[None, :]) + eps)
