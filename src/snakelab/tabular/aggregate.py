"""Cross-fold aggregation of run metrics, best combo and importance (spec §8, D4), as pure pandas functions.

Roles: train = key_train, evaluation = key_evaluation (the cross-validation estimate), validation, test.
For each (experiment, combo, role, metric) the statistics run over the succeeded runs (folds × repeats)
of that ONE role: n (non-null values), n_null, mean, sd (ddof 1; NaN when n < 2), sem = sd/√n, median,
min, max. Test is reported separately and never ranks; train never enters the evaluation statistics
(AIQC's ``metrics_aggregate`` pooled train, validation and test of one run).

The inputs are long metric rows as the store holds them (``split, name, value`` plus the run's identity:
``experiment, predictor_id, run_uid, run_key, combo_idx, fold_idx, repeat_idx``, whichever are known).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from snakelab.tabular.metrics import PRIMARY_METRIC

if TYPE_CHECKING:
    import pandas as pd

ROLES = ("train", "evaluation", "validation", "test")
STATS = ("n", "n_null", "mean", "sd", "sem", "median", "min", "max")
ID_COLUMNS = ("experiment", "predictor_id", "run_uid", "run_key", "combo_idx", "fold_idx", "repeat_idx")
SORT_COLUMNS = ("experiment", "combo_idx", "fold_idx", "repeat_idx", "run_key", "predictor_id", "run_uid")


@dataclass(frozen=True)
class SplitKeys:
    """Which split plays which role (spec §6 keys); the defaults are the folded case."""

    train: str = "folds_train_combined"
    evaluation: str = "fold_validation"
    test: str | None = "test"
    validation: str | None = None

    @classmethod
    def of(cls, folds: bool, has_validation: bool, has_test: bool = True) -> SplitKeys:
        """Keys of a splitset: key_evaluation = fold_validation | validation | test."""
        validation = "validation" if has_validation else None
        test = "test" if has_test else None
        if folds:
            return cls("folds_train_combined", "fold_validation", test, validation)
        evaluation = validation or test
        if evaluation is None:
            raise ValueError("a splitset without folds needs a validation or a test split to evaluate on")
        return cls("train", evaluation, test, validation)

    @property
    def evaluation_is_test(self) -> bool:
        """True when the cross-validation estimate is the test split (the report warns)."""
        return self.evaluation == self.test

    def split_for(self, role: str) -> str | None:
        """The split that plays ``role`` (None when the splitset has none)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        return {
            "train": self.train,
            "evaluation": self.evaluation,
            "validation": self.validation,
            "test": self.test,
        }[role]

    def role_of(self, split: str) -> str | None:
        """The primary role of a split: train, evaluation (wins over validation/test), validation, test."""
        for role in ("train", "evaluation", "validation", "test"):
            if self.split_for(role) == split:
                return role
        return None


def _frame(rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    return rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))


def metrics_df(
    rows: pd.DataFrame | Iterable[Mapping[str, Any]],
    keys: SplitKeys | None = None,
    combos: Mapping[int, Mapping[str, Any]] | None = None,
    selected_metrics: Sequence[str] | None = None,
    splits: Sequence[str] | None = None,
    sort_by: str | None = None,
    ascending: bool = False,
    round: int | None = None,
) -> pd.DataFrame:
    """One row per (run, split): identity columns, ``split, role``, one column per metric, ``hp.<name>``.

    ``rows``: long metric rows (``split, name, value`` + identity columns; value None = undefined).
    ``keys``: the splitset's roles (default: the folded case, :class:`SplitKeys`).
    ``combos``: ``{combo_idx: hyperparameters}`` for the ``hp.*`` columns. ``sort_by`` a metric
    (descending unless ``ascending``); ``round``: decimals (3 reproduces AIQC's tables).
    """
    import pandas as pd

    keys = keys or SplitKeys()
    long = _frame(rows)
    if long.empty:
        return pd.DataFrame(columns=["split", "role"])
    ids = [c for c in ID_COLUMNS if c in long.columns]
    if not ids:
        raise ValueError(f"metric rows need at least one identity column of {ID_COLUMNS}")
    if selected_metrics is not None:
        long = long[long["name"].isin(list(selected_metrics))]
    if splits is not None:
        long = long[long["split"].isin(list(splits))]
    long = long.assign(value=pd.to_numeric(long["value"], errors="coerce").astype(float))
    if long.duplicated([*ids, "split", "name"]).any():
        raise ValueError("duplicate metric rows for one (run, split, name)")
    wide = long.set_index([*ids, "split", "name"])["value"].unstack("name")
    metric_columns = sorted(wide.columns)
    wide = wide[metric_columns].reset_index()
    wide.columns.name = None
    wide.insert(wide.columns.get_loc("split") + 1, "role", wide["split"].map(keys.role_of))
    if combos is not None and "combo_idx" in wide:
        names = list(dict.fromkeys(name for hp in combos.values() for name in hp))
        for name in names:
            wide[f"hp.{name}"] = [combos.get(int(c), {}).get(name) for c in wide["combo_idx"]]
    rank = {role: i for i, role in enumerate(ROLES)}
    wide["_rank"] = wide["role"].map(lambda r: rank.get(r, len(ROLES)))
    order = [c for c in SORT_COLUMNS if c in wide.columns] + ["_rank", "split"]
    wide = wide.sort_values(order, kind="stable").drop(columns="_rank").reset_index(drop=True)
    if round is not None:
        wide[metric_columns] = wide[metric_columns].round(round)
    if sort_by is not None:
        if sort_by not in metric_columns:
            raise ValueError(f"sort_by: no metric {sort_by!r}; expected one of {metric_columns}")
        wide = wide.sort_values(sort_by, ascending=ascending, kind="stable").reset_index(drop=True)
    return wide


def describe(values: Iterable[float | None]) -> dict[str, float | int]:
    """The §8 statistics of one metric over runs.

    n (non-null values), n_null, mean, sd (ddof 1; NaN when n < 2), sem = sd/√n, median, min, max.
    """
    array = np.asarray([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    valid = array[~np.isnan(array)]
    n = int(valid.size)
    nan = float("nan")
    sd = float(np.std(valid, ddof=1)) if n >= 2 else nan
    return {
        "n": n,
        "n_null": int(array.size - n),
        "mean": float(valid.mean()) if n else nan,
        "sd": sd,
        "sem": sd / math.sqrt(n) if n >= 2 else nan,
        "median": float(np.median(valid)) if n else nan,
        "min": float(valid.min()) if n else nan,
        "max": float(valid.max()) if n else nan,
    }


def metrics_aggregate_df(
    metrics: pd.DataFrame,
    keys: SplitKeys | None = None,
    role: str = "evaluation",
    selected_metrics: Sequence[str] | None = None,
    selected_stats: Sequence[str] | None = None,
    sort_by: str | None = None,
    ascending: bool = False,
) -> pd.DataFrame:
    """One row per (experiment, combo, metric) over the runs' ``role`` split (see the module docstring).

    ``metrics``: the output of :func:`metrics_df`. Columns: ``[experiment,] combo_idx, role, split,
    metric, <stats>, evaluation_is_test, hp.*``. ``sort_by`` a statistic (descending unless ``ascending``).
    """
    import pandas as pd

    keys = keys or SplitKeys()
    stats = list(STATS if selected_stats is None else selected_stats)
    unknown = sorted(set(stats) - set(STATS))
    if unknown:
        raise ValueError(f"selected_stats: unknown {unknown}; expected some of {STATS}")
    split = keys.split_for(role)
    rows = metrics[metrics["split"] == split] if split is not None else metrics.iloc[0:0]
    groups = [c for c in ("experiment", "combo_idx") if c in metrics.columns]
    hp_columns = [c for c in metrics.columns if c.startswith("hp.")]
    fixed = set(ID_COLUMNS) | {"split", "role"} | set(hp_columns)
    metric_names = [c for c in metrics.columns if c not in fixed]
    if selected_metrics is not None:
        metric_names = [m for m in metric_names if m in set(selected_metrics)]
    records = []
    grouped = rows.groupby(groups, sort=True, dropna=False) if groups else [((), rows)]
    for group_key, group in grouped:
        ident = dict(zip(groups, group_key if isinstance(group_key, tuple) else (group_key,), strict=True))
        hp = {c: group[c].iloc[0] for c in hp_columns}
        for name in metric_names:
            summary = describe(group[name].tolist())
            records.append(
                {
                    **ident,
                    "role": role,
                    "split": split,
                    "metric": name,
                    **{s: summary[s] for s in stats},
                    "evaluation_is_test": keys.evaluation_is_test,
                    **hp,
                }
            )
    columns = [*groups, "role", "split", "metric", *stats, "evaluation_is_test", *hp_columns]
    out = pd.DataFrame(records, columns=columns)
    if sort_by is not None:
        if sort_by not in stats:
            raise ValueError(f"sort_by: {sort_by!r} is not one of the selected statistics {stats}")
        out = out.sort_values(sort_by, ascending=ascending, kind="stable").reset_index(drop=True)
    return out


def _nan_to(value: Any, replacement: float) -> float:
    value = float(value)
    return replacement if math.isnan(value) else value


def best_combo(evaluation: pd.DataFrame, analysis_type: str) -> int:
    """The combo with the highest evaluation mean of the primary metric (accuracy; r2 for regression).

    Ties: higher roc_auc, then lower loss, then lower combo_idx. ``evaluation``: the output of
    :func:`metrics_aggregate_df` with role ``evaluation`` for one experiment (``mean`` selected).
    """
    if evaluation.empty:
        raise ValueError("no evaluation metrics to rank combos by")
    means = evaluation.pivot_table(
        index="combo_idx", columns="metric", values="mean", aggfunc="first", dropna=False
    )
    primary = PRIMARY_METRIC[analysis_type]
    inf = float("inf")

    def key(combo: Any) -> tuple[float, float, float, int]:
        row = means.loc[combo]
        return (
            -_nan_to(row.get(primary, np.nan), -inf),
            -_nan_to(row.get("roc_auc", np.nan), -inf),
            _nan_to(row.get("loss", np.nan), inf),
            int(combo),
        )

    return int(min(means.index, key=key))


def importance_df(
    per_run: Mapping[str, Mapping[str, Mapping[str, Mapping[str, Any]]]],
    top_n: int | None = None,
    feature_id: int | None = None,
) -> pd.DataFrame:
    """Long importance rows ``run_key, feature_idx, column, median, mean, sd, loss_impacts``, by median.

    ``per_run``: ``{run_key: feature_importance}`` (the ``importance.json`` field). ``top_n`` keeps the
    ``top_n`` columns with the highest median within each run; ``feature_id`` keeps one feature.
    """
    import pandas as pd

    records = [
        {
            "run_key": run_key,
            "feature_idx": int(f),
            "column": column,
            "median": stats["median"],
            "mean": stats["mean"],
            "sd": stats["sd"],
            "loss_impacts": list(stats["loss_impacts"]),
        }
        for run_key, fi in per_run.items()
        for f, columns in fi.items()
        for column, stats in columns.items()
        if feature_id is None or int(f) == feature_id
    ]
    frame = pd.DataFrame(
        records, columns=["run_key", "feature_idx", "column", "median", "mean", "sd", "loss_impacts"]
    )
    frame = frame.sort_values(["run_key", "median"], ascending=[True, False], kind="stable")
    if top_n is not None:
        frame = frame.groupby("run_key", sort=False).head(top_n)
    return frame.reset_index(drop=True)


def importance_aggregate(importance: pd.DataFrame, top_n: int | None = None) -> pd.DataFrame:
    """Per (feature_idx, column) over runs: ``median`` (median of the runs' medians), ``mean``, ``n_runs``
    and every impact (``loss_impacts``, for the box plot), ranked by median (highest first)."""
    import pandas as pd

    records = []
    for (f, column), group in importance.groupby(["feature_idx", "column"], sort=False):
        medians = group["median"].astype(float)
        records.append(
            {
                "feature_idx": int(f),
                "column": column,
                "median": float(np.nanmedian(medians)) if medians.notna().any() else float("nan"),
                "mean": float(group["mean"].astype(float).mean()),
                "n_runs": len(group),
                "loss_impacts": [v for impacts in group["loss_impacts"] for v in impacts],
            }
        )
    frame = pd.DataFrame(
        records, columns=["feature_idx", "column", "median", "mean", "n_runs", "loss_impacts"]
    )
    frame = frame.sort_values("median", ascending=False, kind="stable").reset_index(drop=True)
    return frame.head(top_n) if top_n is not None else frame


def confusion_sum(plot_data: Iterable[Mapping[str, Mapping[str, np.ndarray]]], split: str) -> np.ndarray:
    """The confusion matrices of ``split`` summed over runs (each run's ``read_plot_data`` result)."""
    matrices = [
        np.asarray(d[split]["confusion"]) for d in plot_data if split in d and "confusion" in d[split]
    ]
    if not matrices:
        raise ValueError(f"no confusion matrix for split {split!r}")
    return np.sum(matrices, axis=0)
