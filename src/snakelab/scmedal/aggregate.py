"""Stage ``aggregate`` (spec §6, §7): one model's folds → all/mean scores and histories.

``all_scores_<s>_samplesize-<n>.csv``: index (fold, dataset_type); ``mean_scores_...``: index
(dataset_type, statistic ∈ mean|std|sem), the flag columns ``(label, meaningful)`` kept (all folds);
``history_allfolds.csv`` adds ``fold``;
``mean_history_allfolds.csv`` is the per-epoch mean over the folds that reached the epoch plus
``n_folds``. CIs come from :func:`snakelab.scmedal.ci.t_interval`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from snakelab.scmedal.ci import t_interval
from snakelab.scmedal.scores import read_scores, split_flags


def all_scores(paths: Mapping[int, str]) -> pd.DataFrame:
    """Stack per-fold score files {fold: path} → index (fold, dataset_type)."""
    frames = {k: read_scores(p) for k, p in sorted(paths.items())}
    out = pd.concat(frames, names=["fold", "dataset_type"])
    return out


def mean_scores(stacked: pd.DataFrame) -> pd.DataFrame:
    """Index (dataset_type, statistic ∈ mean|std|sem) from :func:`all_scores`; a flag column
    (label, ``meaningful``) holds, on every row, whether the scores of every fold are meaningful."""
    parts = {}
    for name, group in stacked.groupby(level="dataset_type", sort=False):
        values, flags = split_flags(group.droplevel("dataset_type"))
        stats = t_interval(values).loc[["mean", "std", "sem"]]
        for col in flags.columns:
            stats[col] = bool(flags[col].all())
        parts[name] = stats
    return pd.concat(parts, names=["dataset_type", "statistic"])


def histories(paths: Mapping[int, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(history_allfolds with ``fold``, per-epoch mean over the folds that reached it + ``n_folds``)."""
    frames = []
    for k, p in sorted(paths.items()):
        h = pd.read_csv(p)
        h.insert(0, "fold", k)
        frames.append(h)
    stacked = pd.concat(frames, ignore_index=True)
    cols = [c for c in stacked.columns if c not in ("fold", "epoch")]
    mean = stacked.groupby("epoch")[cols].mean()
    mean["n_folds"] = stacked.groupby("epoch")["fold"].nunique()
    return stacked, mean.reset_index()


def loss_columns(history: pd.DataFrame) -> Sequence[str]:
    """Loss columns worth plotting (train and val), total first."""
    base = [c for c in history.columns if c.endswith("_loss") and not c.startswith("val_")]
    out = []
    for c in base:
        out += [name for name in (c, f"val_{c}") if name in history.columns]
    return out
