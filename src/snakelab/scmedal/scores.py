"""Clustering scores of latents (spec §6): silhouette (ASW), 1/Davies–Bouldin, Calinski–Harabasz.

Per fold and split, ``min(n, sample_size)`` cells are drawn without replacement with
``default_rng(SeedSequence([scores.seed, fold, split_code]))`` and sorted: the same cells for every
latent of that fold and split. Scores are computed in float64 for the labels batch and celltype.

Every score table ends with one flag column per label, ``(label, "meaningful")``: False where the
scores cannot be read as the spec reads them (:func:`meaningful`). Readers that pick columns by name
are unaffected; :func:`split_flags` separates flags from scores (files without flags give none).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from snakelab.core.seeds import rng as seeded_rng
from snakelab.scmedal.config import SPLIT_CODES

LABELS = ("batch", "celltype")
METRICS = ("ch", "1/db", "silhouette")
FLAG = "meaningful"
NOT_MEANINGFUL = "scmedalre batch scores of test batches unseen in training (batches mode, z = 0)"


def subsample(n: int, sample_size: int, seed: int, fold: int, split: str) -> np.ndarray:
    """Sorted row positions of the score subsample (all rows when n ≤ sample_size)."""
    if n <= sample_size:
        return np.arange(n)
    rng = seeded_rng(seed, fold, SPLIT_CODES[split])
    return np.sort(rng.choice(n, size=sample_size, replace=False))


def clustering_scores(latent: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """{ch, 1/db, silhouette} of ``latent`` [n, d] grouped by ``labels`` (NaN with < 2 groups)."""
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    x = np.asarray(latent, dtype=np.float64)
    labels = np.asarray(labels)
    if np.unique(labels).size < 2 or np.unique(labels).size >= len(labels):
        return dict.fromkeys(METRICS, float("nan"))
    db = davies_bouldin_score(x, labels)
    return {
        "ch": float(calinski_harabasz_score(x, labels)),
        "1/db": float(1.0 / db) if db > 0 else float("inf"),
        "silhouette": float(silhouette_score(x, labels, metric="euclidean")),
    }


def meaningful(model: str, split: str, label: str, split_mode: str) -> bool:
    """Whether the ``label`` scores of ``model``'s ``split`` latent mean what the spec says (§3).

    False only for the scmedalre batch scores of the test split in batches mode: the test batches were
    held out of training, so RE embeds them with z = 0 and their batch separation is not a result.
    """
    return not (split_mode == "batches" and model == "scmedalre" and split == "test" and label == "batch")


def score_table(
    latents: Mapping[str, np.ndarray],
    labels: Mapping[str, np.ndarray],
    idx: np.ndarray,
    flags: Mapping[str, bool] | None = None,
) -> pd.DataFrame:
    """Rows = latent names (``dataset_type``), columns (label, metric) on the cells ``idx``, then the
    flags (label, ``meaningful``) of ``flags`` {label: bool} (default True) for every row."""
    flags = flags or {}
    rows = {}
    for name, latent in latents.items():
        row = {}
        for label in LABELS:
            for metric, value in clustering_scores(latent[idx], labels[label][idx]).items():
                row[(label, metric)] = value
            row[(label, FLAG)] = bool(flags.get(label, True))
        rows[name] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["label", "metric"])
    frame.index.name = "dataset_type"
    return frame[[(lab, m) for lab in LABELS for m in METRICS] + [(lab, FLAG) for lab in LABELS]]


def split_flags(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(score columns, flag columns as bool) of a frame whose columns' level 1 is the metric."""
    is_flag = np.asarray(frame.columns.get_level_values(1) == FLAG)
    return frame.loc[:, ~is_flag], frame.loc[:, is_flag].astype(bool)


def read_scores(path: str) -> pd.DataFrame:
    """A per-fold scores CSV (``header=[0, 1], index_col=0``)."""
    return pd.read_csv(path, header=[0, 1], index_col=0)
