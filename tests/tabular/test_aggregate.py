"""Cross-fold aggregation, best combo and importance tables (spec §8)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from snakelab.tabular.aggregate import (
    SplitKeys,
    best_combo,
    confusion_sum,
    describe,
    importance_aggregate,
    importance_df,
    metrics_aggregate_df,
    metrics_df,
)

SPLITS = ("folds_train_combined", "fold_validation", "test")


def long_rows(values: dict, combos: int = 2, folds: int = 5) -> list[dict]:
    """Synthetic long metric rows; ``values[(split, name)](combo, fold)`` gives each value."""
    rows = []
    for combo in range(combos):
        for fold in range(folds):
            for (split, name), fn in values.items():
                rows.append(
                    {
                        "experiment": "exp",
                        "run_key": f"c{combo:03d}-f{fold}-r00",
                        "combo_idx": combo,
                        "fold_idx": fold,
                        "repeat_idx": 0,
                        "split": split,
                        "name": name,
                        "value": fn(combo, fold),
                    }
                )
    return rows


def test_split_keys_roles() -> None:
    folded = SplitKeys.of(folds=True, has_validation=True)
    assert folded == SplitKeys("folds_train_combined", "fold_validation", "test", "validation")
    assert [folded.role_of(s) for s in ("folds_train_combined", "fold_validation", "validation", "test")] == [
        "train",
        "evaluation",
        "validation",
        "test",
    ]
    assert not folded.evaluation_is_test
    plain = SplitKeys.of(folds=False, has_validation=True)
    assert (plain.train, plain.evaluation, plain.role_of("validation")) == (
        "train",
        "validation",
        "evaluation",
    )
    bare = SplitKeys.of(folds=False, has_validation=False)
    assert bare.evaluation == "test" and bare.evaluation_is_test and bare.role_of("test") == "evaluation"
    assert bare.split_for("validation") is None
    with pytest.raises(ValueError, match="validation or a test"):
        SplitKeys.of(folds=False, has_validation=False, has_test=False)


def test_metrics_df_is_one_row_per_run_and_split_with_hp_columns() -> None:
    rows = long_rows(
        {
            ("test", "accuracy"): lambda c, f: 0.1 * f,
            ("fold_validation", "accuracy"): lambda c, f: 0.5,
            ("fold_validation", "roc_auc"): lambda c, f: None,
            ("folds_train_combined", "accuracy"): lambda c, f: 1.0,
        }
    )
    combos = {0: {"neuron_count": 9, "lr": 0.03}, 1: {"neuron_count": 12, "lr": 0.05}}
    frame = metrics_df(rows, combos=combos)
    assert len(frame) == 2 * 5 * 3
    assert list(frame.columns) == [
        "experiment",
        "run_key",
        "combo_idx",
        "fold_idx",
        "repeat_idx",
        "split",
        "role",
        "accuracy",
        "roc_auc",
        "hp.neuron_count",
        "hp.lr",
    ]
    first = frame.iloc[:3]
    assert first["split"].tolist() == ["folds_train_combined", "fold_validation", "test"]
    assert first["role"].tolist() == ["train", "evaluation", "test"]
    assert frame.loc[frame["combo_idx"] == 1, "hp.neuron_count"].unique().tolist() == [12]
    assert frame.loc[frame["split"] == "fold_validation", "roc_auc"].isna().all()
    assert frame.loc[frame["split"] == "test", "roc_auc"].isna().all()
    best = metrics_df(rows, splits=["test"], sort_by="accuracy")
    assert best["accuracy"].iloc[0] == pytest.approx(0.4) and set(best["split"]) == {"test"}
    rounded = metrics_df([{**r, "value": 0.123456} for r in rows], round=3)
    assert set(rounded["accuracy"]) == {0.123}
    with pytest.raises(ValueError, match="duplicate"):
        metrics_df(rows + rows[:1])
    empty = metrics_df([])
    assert empty.empty and metrics_aggregate_df(empty).empty


def test_describe_statistics() -> None:
    stats = describe([0.5, None, 0.7, 0.6])
    assert (stats["n"], stats["n_null"]) == (3, 1)
    assert stats["mean"] == pytest.approx(0.6) and stats["sd"] == pytest.approx(0.1)
    assert stats["sem"] == pytest.approx(0.1 / math.sqrt(3))
    assert (stats["median"], stats["min"], stats["max"]) == (0.6, 0.5, 0.7)
    single = describe([0.3])
    assert single["n"] == 1 and math.isnan(single["sd"]) and math.isnan(single["sem"])
    empty = describe([None])
    assert empty["n"] == 0 and math.isnan(empty["mean"])


def test_aggregate_equals_a_pandas_groupby_of_one_split() -> None:
    rng = np.random.default_rng(3)
    table = {(s, m): rng.uniform(size=(3, 5)) for s in SPLITS for m in ("accuracy", "loss")}
    rows = long_rows({k: (lambda c, f, a=v: float(a[c, f])) for k, v in table.items()}, combos=3)
    wide = metrics_df(rows)
    for role, split in (
        ("evaluation", "fold_validation"),
        ("test", "test"),
        ("train", "folds_train_combined"),
    ):
        agg = metrics_aggregate_df(wide, role=role)
        expected = (
            wide[wide["split"] == split]
            .groupby("combo_idx")["loss"]
            .agg(["mean", "std", "median", "min", "max"])
        )
        got = agg[agg["metric"] == "loss"].set_index("combo_idx")
        np.testing.assert_allclose(got["mean"], expected["mean"], rtol=1e-12)
        np.testing.assert_allclose(got["sd"], expected["std"], rtol=1e-12)
        np.testing.assert_allclose(got["median"], expected["median"], rtol=1e-12)
        np.testing.assert_allclose(got["sem"], expected["std"] / np.sqrt(5), rtol=1e-12)
        assert set(got["split"]) == {split} and set(got["role"]) == {role} and set(got["n"]) == {5}
    assert len(metrics_aggregate_df(wide, role="validation")) == 0


def test_aggregate_selection_and_sorting() -> None:
    rows = long_rows({("fold_validation", "accuracy"): lambda c, f: 0.5 + 0.1 * c + 0.01 * f}, combos=3)
    agg = metrics_aggregate_df(
        metrics_df(rows, combos={0: {"a": 1}, 1: {"a": 2}, 2: {"a": 3}}),
        selected_stats=["mean", "sd"],
        sort_by="mean",
    )
    assert list(agg.columns) == [
        "experiment",
        "combo_idx",
        "role",
        "split",
        "metric",
        "mean",
        "sd",
        "evaluation_is_test",
        "hp.a",
    ]
    assert agg["combo_idx"].tolist() == [2, 1, 0] and agg["hp.a"].tolist() == [3, 2, 1]
    with pytest.raises(ValueError, match="unknown"):
        metrics_aggregate_df(metrics_df(rows), selected_stats=["variance"])


def test_evaluation_is_test_without_folds_or_validation() -> None:
    keys = SplitKeys.of(folds=False, has_validation=False)
    rows = [
        {"run_key": "c000-fn-r00", "combo_idx": 0, "split": s, "name": "accuracy", "value": v}
        for s, v in (("train", 1.0), ("test", 0.8))
    ]
    wide = metrics_df(rows, keys=keys)
    assert wide["role"].tolist() == ["train", "evaluation"]
    evaluation = metrics_aggregate_df(wide, keys=keys)
    test = metrics_aggregate_df(wide, keys=keys, role="test")
    assert evaluation["mean"].tolist() == test["mean"].tolist() == [0.8]
    assert evaluation["evaluation_is_test"].all()


def aggregate_of(means: dict[int, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"combo_idx": c, "metric": m, "mean": v} for c, metrics in means.items() for m, v in metrics.items()]
    )


def test_best_combo_ranking_and_ties() -> None:
    assert (
        best_combo(aggregate_of({0: {"accuracy": 0.9}, 1: {"accuracy": 0.95}}), "classification_multi") == 1
    )
    tie_auc = {
        0: {"accuracy": 0.9, "roc_auc": 0.97, "loss": 0.1},
        1: {"accuracy": 0.9, "roc_auc": 0.99, "loss": 0.3},
    }
    assert best_combo(aggregate_of(tie_auc), "classification_multi") == 1
    tie_loss = {
        0: {"accuracy": 0.9, "roc_auc": 0.99, "loss": 0.3},
        1: {"accuracy": 0.9, "roc_auc": 0.99, "loss": 0.1},
    }
    assert best_combo(aggregate_of(tie_loss), "classification_multi") == 1
    full_tie = {2: {"accuracy": 0.9, "loss": 0.1}, 1: {"accuracy": 0.9, "loss": 0.1}}
    assert best_combo(aggregate_of(full_tie), "classification_multi") == 1
    nan_primary = {0: {"accuracy": float("nan")}, 1: {"accuracy": 0.2}}
    assert best_combo(aggregate_of(nan_primary), "classification_binary") == 1
    assert best_combo(aggregate_of({0: {"r2": 0.5, "accuracy": 0.99}, 1: {"r2": 0.7}}), "regression") == 1
    with pytest.raises(ValueError, match="no evaluation"):
        best_combo(aggregate_of({}), "regression")


def test_importance_tables() -> None:
    def fi(a: float, b: float) -> dict:
        return {
            "0": {
                "x": {"median": a, "mean": a, "sd": 0.0, "loss_impacts": [a, a]},
                "y": {"median": b, "mean": b, "sd": 0.0, "loss_impacts": [b]},
            }
        }

    per_run = {"c000-f0-r00": fi(0.5, 0.1), "c000-f1-r00": fi(0.3, 0.2), "c000-f2-r00": fi(0.9, 0.0)}
    long = importance_df(per_run)
    assert len(long) == 6 and long.iloc[0][["run_key", "column", "median"]].tolist() == [
        "c000-f0-r00",
        "x",
        0.5,
    ]
    assert len(importance_df(per_run, top_n=1)) == 3 and set(importance_df(per_run, top_n=1)["column"]) == {
        "x"
    }
    assert importance_df(per_run, feature_id=1).empty
    agg = importance_aggregate(long)
    assert agg["column"].tolist() == ["x", "y"]
    assert agg["median"].tolist() == [0.5, pytest.approx(0.1)]
    assert agg.loc[0, "loss_impacts"] == [0.5, 0.5, 0.3, 0.3, 0.9, 0.9] and agg.loc[0, "n_runs"] == 3
    assert importance_aggregate(long, top_n=1)["column"].tolist() == ["x"]


def test_confusion_sum() -> None:
    runs = [
        {"test": {"confusion": np.eye(3, dtype=int)}},
        {"test": {"confusion": np.ones((3, 3), dtype=int)}},
    ]
    np.testing.assert_array_equal(confusion_sum(runs, "test"), np.eye(3) + 1)
    with pytest.raises(ValueError, match="fold_validation"):
        confusion_sum(runs, "fold_validation")
