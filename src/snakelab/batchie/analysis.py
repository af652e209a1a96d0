"""Numbers behind ``model_evaluation_analysis/`` (spec §2.4): summary statistics, per-sample
prediction correlation, rank correlations and per-sample distributions. Plots: stages/analyze.py.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from snakelab.batchie.data import Screen
from snakelab.batchie.models.evaluation import ModelEvaluation
from snakelab.batchie.models.sparse_combo import StackedThetas, viability

#: Above this many (sample, condition) predictions the correlation uses the screen's own conditions.
MAX_COMBINATIONS = 10_000_000


def summary_statistics(evaluation: ModelEvaluation) -> dict[str, float]:
    """``summary_statistics.json``: mse, mse_variance, inter_chain_mse_variance (floats)."""
    return {
        "mse": float(evaluation.mse()),
        "mse_variance": float(evaluation.mse_variance()),
        "inter_chain_mse_variance": float(evaluation.inter_chain_mse_variance()),
    }


def correlation_conditions(screen: Screen) -> np.ndarray:
    """(n_cond, a) int64 treatment-id conditions whose predictions describe each sample.

    Every ``a``-combination of the treatment-mapping entries, controls included (id −1 once), when
    samples × combinations ≤ :data:`MAX_COMBINATIONS`; otherwise the screen's distinct conditions.
    """
    space = screen.experiment_space
    ids = np.unique(np.append(space.treatment_ids, -1)) if space.treatment_ids.size else np.array([-1])
    arity = screen.arity
    n_comb = math.comb(ids.size, arity)
    if n_comb * space.n_samples <= MAX_COMBINATIONS:
        return np.array(list(itertools.combinations(ids.tolist(), arity)), dtype=np.int64).reshape(-1, arity)
    return np.unique(np.sort(screen.treatment_ids, axis=1), axis=0)


def sample_prediction_correlation(
    screen: Screen, stacked: StackedThetas, block_mb: float = 256
) -> tuple[np.ndarray, np.ndarray]:
    """(sample names (C,), cosine similarity (C, C)) of the samples' centred mean predictions.

    Each sample's mean predicted viability (over thetas) under every condition of
    :func:`correlation_conditions`, centred per condition across samples; rows compared by cosine
    similarity (a sample with all-zero centred predictions gets similarity 0 with the others).
    """
    space = screen.experiment_space
    conditions = correlation_conditions(screen)
    c = space.n_samples
    samples = np.repeat(np.arange(c, dtype=np.int64), conditions.shape[0])
    treatments = np.tile(conditions, (c, 1))
    mean = viability(stacked, samples, treatments, block_mb).mean(axis=0).reshape(c, -1)
    centred = mean - mean.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    safe = np.where(norms > 0, norms, 1.0)
    unit = centred / safe[:, None]
    similarity = unit @ unit.T
    order = np.argsort(space.sample_ids)
    return space.sample_names[order], similarity[np.ix_(order, order)]


def per_sample_summary(evaluation: ModelEvaluation) -> dict[str, dict[str, np.ndarray]]:
    """Per sample name: observed (n,), mean prediction (n,), prediction variance over thetas (n,)."""
    mean = evaluation.predictions.mean(axis=1)
    var = evaluation.predictions.var(axis=1)
    out = {}
    for name in np.unique(evaluation.sample_names):
        rows = evaluation.sample_names == name
        out[str(name)] = {
            "observed": evaluation.observations[rows],
            "mean_prediction": mean[rows],
            "prediction_variance": var[rows],
        }
    return out


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x`` (n,), ties given their average rank."""
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], x.size]
    average = (starts + ends + 1) / 2.0
    ranks = np.empty(x.size, dtype=np.float64)
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation of two (n,) arrays (ties: average ranks); NaN if either is constant."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(_average_ranks(x), _average_ranks(y))[0, 1])
