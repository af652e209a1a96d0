"""The uniform prior box of LFI (spec §10) and index-addressed prior draws.

Draw number j of a stream is a function of (seed, stream, j) only: draws are generated in blocks of
:data:`BLOCK` consecutive indices, block b from ``SeedSequence(seed, spawn_key=(stream, DRAWS, b))``, so a
chunk of indices gets the same θ_j whichever way the indices are split into chunks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from snakelab.core.errors import InputError
from snakelab.core.seeds import rng

BLOCK = 1024
"""Number of consecutive indices whose draws come from one generator."""

STREAM_ABC = 6
STREAM_PMC = 7
"""Stream numbers of spec §12 (``abc`` 6, ``pmc`` 7)."""

DRAWS = 0
PROPOSALS = 1
"""Second seed coordinate within a stream: prior draws (0), PMC proposals (1, then the target)."""


def check_box(
    low: Sequence[float], high: Sequence[float], path: str | None = None, field: str = "imnn.prior"
) -> tuple[np.ndarray, np.ndarray]:
    """``(low, high)`` as float64 arrays (n_params,) after checking equal lengths, finiteness, low < high."""
    lo = np.asarray(low, dtype=np.float64).ravel()
    hi = np.asarray(high, dtype=np.float64).ravel()
    if lo.shape != hi.shape or lo.size == 0:
        raise InputError(
            path, field, f"expected low and high of equal length >= 1, found {lo.size} and {hi.size}"
        )
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise InputError(path, field, "expected finite bounds")
    if not (lo < hi).all():
        p = int(np.argmin(hi - lo))
        raise InputError(path, f"{field}.low[{p}]", f"expected low < high, found {lo[p]} >= {hi[p]}")
    return lo, hi


def in_box(theta: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Boolean (n,) for θ (n, n_params): inside the closed box [low, high]."""
    theta = np.asarray(theta)
    return np.all((theta >= low) & (theta <= high), axis=-1)


def prior_density(theta: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """π(θ) (n,): 1/volume inside the box, 0 outside."""
    volume = float(np.prod(np.asarray(high) - np.asarray(low)))
    return np.where(in_box(theta, low, high), 1.0 / volume, 0.0)


def uniform_draws(
    seed: int, stream: int, indices: np.ndarray, low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """θ_j ~ U(box) for the global indices ``indices`` (n,) of stream ``stream``: (n, n_params) float64."""
    indices = np.asarray(indices, dtype=np.int64)
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    if indices.size and indices.min() < 0:
        raise ValueError("indices must be non-negative")
    out = np.empty((indices.size, low.size))
    blocks = indices // BLOCK
    for b in np.unique(blocks):
        unit = rng(seed, stream, DRAWS, int(b)).random((BLOCK, low.size))
        rows = blocks == b
        out[rows] = unit[indices[rows] % BLOCK]
    return low + (high - low) * out
