"""Stage ``compare`` (spec §6, §7): one split's scores of every compared model side by side.

``<s>_allscores.csv`` (index model, fold), ``<s>_scores_<n>.csv`` (index model, columns (label,
metric, stat ∈ mean|sem|std)), ``<s>_scores_<n>_95CI.csv`` (stat ∈ mean|CI_lower|CI_upper, read with
``header=[0, 1, 2]``), the chart, and per model the fold with the lowest / highest batch silhouette
(NaN where no fold has one). Rows are the compared models, ``X_pca`` and the external latents. The
means and CI tables end with the flags ``(label, meaningful, all_folds)``: False where some fold's
scores of that label are not meaningful (:func:`snakelab.scmedal.scores.meaningful`); the chart
hatches and stars those bars.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from snakelab.scmedal.ci import t_interval
from snakelab.scmedal.scores import split_flags


def compare_tables(all_scores: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Tables from each model's ``all_scores`` frame (index (fold, dataset_type), one latent per model)."""
    per_model = {}
    for model, frame in all_scores.items():
        per_model[model] = frame.droplevel("dataset_type")
    stacked = pd.concat(per_model, names=["model", "fold"])
    means, cis, lows, highs = {}, {}, {}, {}
    for model, frame in per_model.items():
        values, flags = split_flags(frame)
        stats = t_interval(values)
        flag_cells = {(*col, "all_folds"): bool(flags[col].all()) for col in flags.columns}
        means[model] = {
            (*col, s): stats.loc[s, col] for col in values.columns for s in ("mean", "sem", "std")
        } | flag_cells
        cis[model] = {
            (*col, s): stats.loc[s, col] for col in values.columns for s in ("mean", "CI_lower", "CI_upper")
        } | flag_cells
        sil = frame[("batch", "silhouette")].dropna()
        for target, pick in ((lows, "idxmin"), (highs, "idxmax")):
            # no fold has a batch silhouette (one batch per split, e.g. batches mode): a row of NaN
            fold = getattr(sil, pick)() if len(sil) else float("nan")
            row = frame.loc[fold].to_dict() if len(sil) else dict.fromkeys(frame.columns, float("nan"))
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
