"""Approximate Bayesian computation by rejection, as independent chunks and a join (spec §10).

Callables (NumPy in, NumPy out):

* ``simulate(indices, thetas) -> data``: ``indices`` (n,) int64 are the global simulation numbers j
  within the ``abc`` stream (the caller derives simulation j's noise from them, e.g.
  ``fold_in(abc_key, j)``, see :func:`snakelab.imnn.simulators.batch_simulator`); ``thetas``
  (n, n_params) float64; returns ``data`` (n, *input_shape).
* ``compress(data) -> summaries``: (n, *input_shape) → θ̂ (n, n_params), the score-compressed
  estimates (spec §5).

Chunk c holds the draws j = c·n_per_chunk … (c+1)·n_per_chunk − 1; θ_j comes from
:func:`~snakelab.imnn.lfi.prior.uniform_draws` with stream ``abc``, so the draws do not depend on the
number of chunks.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from snakelab.core.atomic import atomic_path, write_text
from snakelab.core.progress import progress
from snakelab.imnn.lfi.distance import distance_metric, distances
from snakelab.imnn.lfi.grid import histogram_marginals, parameter_pairs
from snakelab.imnn.lfi.prior import STREAM_ABC, uniform_draws

log = logging.getLogger("snakelab.imnn.lfi.abc")

Simulate = Callable[[np.ndarray, np.ndarray], np.ndarray]
Compress = Callable[[np.ndarray], np.ndarray]


class ABCChunk(NamedTuple):
    """Fields of ``lfi/abc_chunk_{c:03d}.npz``: ``parameters`` (n, n_params), ``summaries``
    (n, n_params), ``distances`` (n_targets, n)."""

    parameters: np.ndarray
    summaries: np.ndarray
    distances: np.ndarray


class ABCResult(NamedTuple):
    """Fields of ``lfi/abc.npz``. Per target the accepted draws sorted by distance, padded with NaN
    to the largest count: ``samples`` (n_targets, k_max, n_params), ``distances`` (n_targets, k_max);
    ``n_accepted`` (n_targets,), ``epsilon`` (n_targets,) the threshold applied (the given ``epsilon``
    or the k-th smallest distance); grid ``ranges``, ``pairs`` and the histogram marginals
    ``marginals_1d`` (n_targets, n_params, G), ``marginals_2d`` (n_targets, n_pairs, G, G);
    ``n_draws`` the number N of draws joined."""

    samples: np.ndarray
    distances: np.ndarray
    n_accepted: np.ndarray
    epsilon: np.ndarray
    ranges: np.ndarray
    pairs: np.ndarray
    marginals_1d: np.ndarray
    marginals_2d: np.ndarray
    n_draws: int


def summarise(
    simulate: Simulate, compress: Compress, indices: np.ndarray, thetas: np.ndarray, n_params: int
) -> np.ndarray:
    """θ̂ = compress(simulate(indices, thetas)) as float64 (n, n_params), shape-checked."""
    summaries = np.asarray(compress(simulate(indices, thetas)), dtype=np.float64)
    if summaries.shape != (len(indices), n_params):
        raise ValueError(f"compress returned shape {summaries.shape}, expected {(len(indices), n_params)}")
    return summaries


def abc_chunk(
    chunk: int,
    n_per_chunk: int,
    seed: int,
    low: np.ndarray,
    high: np.ndarray,
    targets: np.ndarray,
    simulate: Simulate,
    compress: Compress,
    fisher: np.ndarray | None = None,
    distance: str = "fisher",
    batch: int = 1000,
) -> ABCChunk:
    """Chunk ``chunk``: n_per_chunk prior draws, one simulation each, their summaries and distances.

    ``targets`` (n_targets, n_params) are the observed θ̂_t; ``fisher`` F weighs the distances when
    ``distance`` is ``fisher``. Simulations run in batches of ``batch`` (the last may be smaller).
    """
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    targets = np.atleast_2d(np.asarray(targets, dtype=np.float64))
    metric = distance_metric(distance, fisher)
    n_params = low.size
    indices = chunk * n_per_chunk + np.arange(n_per_chunk, dtype=np.int64)
    parameters = uniform_draws(seed, STREAM_ABC, indices, low, high)
    summaries = np.empty((n_per_chunk, n_params))
    starts = range(0, n_per_chunk, batch)
    for start in progress(starts, desc=f"abc chunk {chunk}", total=len(starts), unit="batch"):
        sl = slice(start, min(start + batch, n_per_chunk))
        summaries[sl] = summarise(simulate, compress, indices[sl], parameters[sl], n_params)
    return ABCChunk(parameters, summaries, distances(summaries, targets, metric))


def write_chunk(path: str | os.PathLike[str], chunk: ABCChunk) -> None:
    """Write one chunk file atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **chunk._asdict())


def read_chunks(paths: Sequence[str | os.PathLike[str]]) -> ABCChunk:
    """The chunk files in the given order, concatenated along the draws."""
    parts = []
    for path in paths:
        with np.load(path) as f:
            parts.append(ABCChunk(f["parameters"], f["summaries"], f["distances"]))
    return concatenate(parts)


def concatenate(chunks: Sequence[ABCChunk]) -> ABCChunk:
    """Chunks joined along the draws (in order)."""
    return ABCChunk(
        np.concatenate([c.parameters for c in chunks]),
        np.concatenate([c.summaries for c in chunks]),
        np.concatenate([c.distances for c in chunks], axis=1),
    )


def n_closest(quantile: float, n_draws: int) -> int:
    """k = ⌈quantile · N⌉ (quantile · N rounded to 9 decimals first, so 0.07 · 100 gives 7)."""
    return min(n_draws, math.ceil(round(quantile * n_draws, 9)))


def abc_join(
    draws: ABCChunk,
    ranges: np.ndarray,
    quantile: float = 0.01,
    epsilon: float | None = None,
    smoothing: float = 0.0,
    min_accepted: int = 100,
) -> tuple[ABCResult, dict]:
    """Accept per target ρ ≤ ``epsilon`` or, if ``epsilon`` is None, the k = ⌈quantile·N⌉ closest draws.

    Ties at the k-th distance are broken by draw order (stable sort). Marginals are histograms on
    ``ranges`` smoothed by σ = ``smoothing`` grid cells. Returns the result and the summary written
    to ``lfi/abc.json``, whose ``warnings`` list the targets with fewer than ``min_accepted``
    accepted draws (also logged).
    """
    n_targets, n_draws = draws.distances.shape
    n_params = ranges.shape[0]
    accepted: list[np.ndarray] = []
    thresholds = np.empty(n_targets)
    for t in range(n_targets):
        order = np.argsort(draws.distances[t], kind="stable")
        if epsilon is None:
            keep = order[: n_closest(quantile, n_draws)]
            thresholds[t] = draws.distances[t, keep[-1]] if keep.size else np.nan
        else:
            keep = order[draws.distances[t, order] <= epsilon]
            thresholds[t] = epsilon
        accepted.append(keep)
    counts = np.asarray([a.size for a in accepted], dtype=np.int64)
    k_max = int(counts.max(initial=0))
    samples = np.full((n_targets, k_max, n_params), np.nan)
    dist = np.full((n_targets, k_max), np.nan)
    pairs = parameter_pairs(n_params)
    m1 = np.zeros((n_targets, n_params, ranges.shape[1]))
    m2 = np.zeros((n_targets, len(pairs), ranges.shape[1], ranges.shape[1]))
    warnings = []
    for t, keep in enumerate(accepted):
        samples[t, : keep.size] = draws.parameters[keep]
        dist[t, : keep.size] = draws.distances[t, keep]
        m1[t], m2[t] = histogram_marginals(draws.parameters[keep], ranges, smoothing=smoothing)
        if keep.size < min_accepted:
            message = f"target {t}: {keep.size} accepted draws < min_accepted = {min_accepted}"
            log.warning(message)
            warnings.append(message)
    result = ABCResult(samples, dist, counts, thresholds, ranges, pairs, m1, m2, n_draws)
    summary = {
        "n_draws": n_draws,
        "rule": "quantile" if epsilon is None else "epsilon",
        "quantile": quantile if epsilon is None else None,
        "epsilon": [float(e) if np.isfinite(e) else None for e in thresholds],
        "n_accepted": counts.tolist(),
        "smoothing": smoothing,
        "min_accepted": min_accepted,
        "warnings": warnings,
    }
    return result, summary


def write_abc(
    npz_path: str | os.PathLike[str], json_path: str | os.PathLike[str], result: ABCResult, summary: dict
) -> None:
    """Write ``lfi/abc.npz`` and ``lfi/abc.json`` atomically."""
    with atomic_path(npz_path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **result._asdict())
    write_text(json_path, json.dumps(summary, indent=2, sort_keys=True) + "\n")
