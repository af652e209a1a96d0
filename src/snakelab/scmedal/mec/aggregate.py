"""MEC aggregation over folds and the cross-run summary (spec §6 CI rule, §9).

Files (atomic):

* ``<mec_run>/metrics_allfolds.csv`` — index (``fold``, ``split``), columns the four metrics
  (``pd.read_csv(p, index_col=[0, 1])``);
* ``<mec_run>/metrics_allfolds_95CI.csv`` — index (``split``, ``statistic`` ∈ mean, std, sem, CI_lower,
  CI_upper), columns the four metrics (``pd.read_csv(p, index_col=[0, 1])``);
* ``mec/MEC_RF_summary.csv`` — one row per (target, features): see :data:`SUMMARY_COLUMNS`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from snakelab.core.atomic import atomic_path
from snakelab.core.errors import InputError
from snakelab.scmedal.ci import STATISTICS, t_interval
from snakelab.scmedal.mec.classify import METRICS, SPLITS, read_fold_metrics

SUMMARY_COLUMNS = (
    "target",
    "features",
    "split_mode",
    "batch_level_target",
    "n_folds",
    "RFAccuracy_mean",
    "RFAccuracy_CI_lower",
    "RFAccuracy_CI_upper",
    "RFBalancedAccuracy_mean",
    "RFBalancedAccuracy_CI_lower",
    "RFBalancedAccuracy_CI_upper",
    "ChanceAccuracy_mean",
    "ChanceBalancedAccuracy_mean",
    "mec_run",
)


def is_batch_level(target: Sequence, batch: Sequence) -> bool:
    """True when ``target`` is constant within every batch (missing values ignored): a batch-level label."""
    frame = pd.DataFrame({"t": np.asarray(target, dtype=object), "b": np.asarray(batch, dtype=object)})
    return bool((frame.dropna().groupby("b", sort=False)["t"].nunique() <= 1).all())


def _write_csv(frame: pd.DataFrame, path: Path, index: bool = True) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=index)


def aggregate_folds(
    fold_metrics: Mapping[int, pd.DataFrame], run_dir: str | os.PathLike[str]
) -> pd.DataFrame:
    """Stack the folds' metric frames and write ``metrics_allfolds.csv`` and ``metrics_allfolds_95CI.csv``.

    ``fold_metrics`` maps fold number (1-based) → frame index split × columns :data:`METRICS` (as
    :func:`~snakelab.scmedal.mec.classify.run_mec_fold` returns). Returns the CI frame: index
    (split, statistic), columns the metrics, statistics over the folds by
    :func:`~snakelab.scmedal.ci.t_interval`.
    """
    if not fold_metrics:
        raise InputError(run_dir, "folds", "at least one fold's metrics.csv")
    run = Path(run_dir)
    stacked = pd.concat(
        {int(k): fold_metrics[k].loc[list(SPLITS), list(METRICS)] for k in sorted(fold_metrics)}
    )
    stacked.index.names = ["fold", "split"]
    _write_csv(stacked, run / "metrics_allfolds.csv")
    ci = pd.concat({s: t_interval(stacked.xs(s, level="split")) for s in SPLITS})
    ci.index.names = ["split", "statistic"]
    _write_csv(ci, run / "metrics_allfolds_95CI.csv")
    return ci


def aggregate_run(run_dir: str | os.PathLike[str], folds: Iterable[int]) -> pd.DataFrame:
    """:func:`aggregate_folds` over ``<run_dir>/splits_<k>/metrics.csv`` for the listed folds."""
    run = Path(run_dir)
    return aggregate_folds(
        {int(k): read_fold_metrics(run / f"splits_{k}" / "metrics.csv") for k in folds}, run
    )


def summary_row(
    ci: pd.DataFrame,
    target: str,
    features: str,
    split_mode: str,
    batch_level_target: bool,
    n_folds: int,
    mec_run: str,
) -> dict[str, Any]:
    """One ``MEC_RF_summary.csv`` row from a run's CI frame (index (split, statistic)): test-split figures."""
    test = ci.xs("test", level="split")
    row: dict[str, Any] = {
        "target": target,
        "features": features,
        "split_mode": split_mode,
        "batch_level_target": bool(batch_level_target),
        "n_folds": int(n_folds),
        "mec_run": mec_run,
    }
    for metric in ("RFAccuracy", "RFBalancedAccuracy"):
        for stat, col in (("mean", "mean"), ("CI_lower", "CI_lower"), ("CI_upper", "CI_upper")):
            row[f"{metric}_{col}"] = float(test.loc[stat, metric])
    for metric in ("ChanceAccuracy", "ChanceBalancedAccuracy"):
        row[f"{metric}_mean"] = float(test.loc["mean", metric])
    return row


def write_summary(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> pd.DataFrame:
    """Write ``MEC_RF_summary.csv`` (columns :data:`SUMMARY_COLUMNS`, sorted by target, features)."""
    frame = pd.DataFrame(list(rows), columns=list(SUMMARY_COLUMNS))
    frame = frame.sort_values(["target", "features"], kind="stable").reset_index(drop=True)
    _write_csv(frame, Path(path), index=False)
    return frame


def read_ci(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read ``metrics_allfolds_95CI.csv`` back (index (split, statistic), columns the metrics)."""
    frame = pd.read_csv(path, index_col=[0, 1])
    if list(frame.columns) != list(METRICS) or set(frame.index.get_level_values(1)) != set(STATISTICS):
        raise InputError(path, "columns", f"metrics {list(METRICS)} with statistics {list(STATISTICS)}")
    return frame
