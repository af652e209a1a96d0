"""Strictly-lower-triangular pair arithmetic of the chunked distance matrix (spec §2.3).

Pairs (i, j) with i > j ≥ 0 of K thetas are enumerated row-major: (1,0), (2,0), (2,1), (3,0), …; pair
(i, j) has the linear index ``q = i(i−1)/2 + j`` and there are ``P = K(K−1)/2`` pairs. Chunk k of
``n_chunks`` is a contiguous range of q. All functions are vectorised over int64 arrays; only numpy is
imported.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["chunk_pair_range", "n_pairs", "pair_index", "unrank_pairs"]


def n_pairs(size: int) -> int:
    """P = K(K−1)/2: number of strictly-lower-triangular pairs of a K × K matrix (K = ``size``)."""
    size = int(size)
    if size < 0:
        raise ValueError(f"size must be >= 0, found {size}")
    return size * (size - 1) // 2


def pair_index(i: ArrayLike, j: ArrayLike) -> np.ndarray:
    """Linear index ``q = i(i−1)/2 + j`` (int64, broadcast shape of ``i`` and ``j``) of pairs i > j ≥ 0.

    The caller guarantees i > j ≥ 0 (see :func:`unrank_pairs` for the inverse).
    """
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    return i * (i - 1) // 2 + j


def unrank_pairs(q: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`pair_index`: (i, j) int64 arrays of the shape of ``q`` (int, ≥ 0).

    ``i = floor((1 + sqrt(1 + 8q)) / 2)`` from a float square root, then corrected by one step each way
    in exact integer arithmetic, so the result is exact for every q below 2**60.
    """
    q = np.asarray(q, dtype=np.int64)
    if q.size and q.min() < 0:
        raise ValueError("pair indices must be >= 0")
    i = np.floor((1.0 + np.sqrt(1.0 + 8.0 * q.astype(np.float64))) / 2.0).astype(np.int64)
    i -= (i * (i - 1) // 2 > q).astype(np.int64)
    i += ((i + 1) * i // 2 <= q).astype(np.int64)
    j = q - i * (i - 1) // 2
    return i, j


def chunk_pair_range(size: int, n_chunks: int, chunk_index: int) -> tuple[int, int]:
    """The half-open range [start, stop) of linear pair indices of chunk ``chunk_index`` of ``n_chunks``.

    With P = :func:`n_pairs` (size), b = P // n_chunks and r = P % n_chunks, chunk k covers
    ``[k·b + min(k, r), (k+1)·b + min(k+1, r))``: the first r chunks hold one extra pair; chunks may be
    empty (start == stop) when n_chunks > P.
    """
    n_chunks = int(n_chunks)
    chunk_index = int(chunk_index)
    if n_chunks < 1:
        raise ValueError(f"n_chunks must be >= 1, found {n_chunks}")
    if not 0 <= chunk_index < n_chunks:
        raise ValueError(f"chunk_index must lie in 0..{n_chunks - 1}, found {chunk_index}")
    total = n_pairs(size)
    b, r = divmod(total, n_chunks)
    start = chunk_index * b + min(chunk_index, r)
    stop = (chunk_index + 1) * b + min(chunk_index + 1, r)
    return start, stop
