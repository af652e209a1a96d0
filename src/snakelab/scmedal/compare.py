"""Stage ``compare`` (spec §6, §7): one split's scores of every compared model side by side.

``<s>_allscores.csv`` (index model, fold), ``<s>_scores_<n>.csv`` (index model, columns (label,
metric, stat ∈ mean|sem|std)), ``<s>_scores_<n>_95CI.csv`` (stat ∈ mean|CI_lower|CI_upper, read with
``header=[0, 1, 2]``), the chart, and per model the fold with the lowest / highest batch silhouette.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from snakelab.scmedal.ci import t_interval


def compare_tables(all_scores: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Tables from each model's ``all_scores`` frame (index (fold, dataset_type), one latent per model)."""
    per_model = {}
    for model, frame in all_scores.items():
        per_model[model] = frame.droplevel("dataset_type")
    stacked = pd.concat(per_model, names=["model", "fold"])
    means, cis, lows, highs = {}, {}, {}, {}
    for model, frame in per_model.items():
        stats = t_interval(frame)
        means[model] = {(*col, s): stats.loc[s, col] for col in frame.columns for s in ("mean", "sem", "std")}
        cis[model] = {
            (*col, s): stats.loc[s, col] for col in frame.columns for s in ("mean", "CI_lower", "CI_upper")
        }
        sil = frame[("batch", "silhouette")]
        for target, fold in ((lows, sil.idxmin()), (highs, sil.idxmax())):
            row = frame.loc[fold].to_dict()
            row[("", "fold")] = fold
            target[model] = row

    def frame_of(rows: Mapping[str, Mapping], names: list[str]) -> pd.DataFrame:
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.columns = pd.MultiIndex.from_tuples(out.columns, names=names)
        out.index.name = "model"
        return out

    return {
        "allscores": stacked,
        "means": frame_of(means, ["label", "metric", "stat"]),
        "ci": frame_of(cis, ["label", "metric", "stat"]),
        "min": frame_of(lows, ["label", "metric"]),
        "max": frame_of(highs, ["label", "metric"]),
    }
