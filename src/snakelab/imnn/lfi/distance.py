"""Distances between summaries and targets (spec §10): Fisher-weighted or Euclidean."""

from __future__ import annotations

import numpy as np

DISTANCES = ("fisher", "euclidean")


def distances(summaries: np.ndarray, targets: np.ndarray, fisher: np.ndarray | None = None) -> np.ndarray:
    """ρ (n_targets, n) between summaries t (n, n_params) and targets θ̂ (n_targets, n_params).

    ρ_tj = √((t_j − θ̂_t)ᵀ F (t_j − θ̂_t)) with ``fisher`` F (n_params, n_params), or the Euclidean
    distance when ``fisher`` is None.
    """
    summaries = np.asarray(summaries, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    diff = summaries[None, :, :] - targets[:, None, :]
    if fisher is None:
        squared = np.einsum("tnp,tnp->tn", diff, diff)
    else:
        squared = np.einsum("tnp,pq,tnq->tn", diff, np.asarray(fisher, dtype=np.float64), diff)
    return np.sqrt(np.maximum(squared, 0.0))


def distance_metric(distance: str, fisher: np.ndarray | None) -> np.ndarray | None:
    """The matrix :func:`distances` uses for ``distance`` (``fisher`` → F, ``euclidean`` → None)."""
    if distance == "euclidean":
        return None
    if distance == "fisher":
        if fisher is None:
            raise ValueError("distance 'fisher' needs the Fisher matrix")
        return np.asarray(fisher, dtype=np.float64)
    raise ValueError(f"distance: expected one of {', '.join(DISTANCES)}, found {distance!r}")
