"""Per-split metrics, plot data and the predictions table (spec §8)."""

from __future__ import annotations

import hashlib
import logging

import numpy as np
import pandas as pd
import pytest

from snakelab.tabular.metrics import (
    METRICS,
    SplitPredictions,
    class_indices,
    metric_rows,
    onehot,
    plot_data_split,
    predictions_frame,
    read_plot_data,
    score_split,
    score_splits,
    write_plot_data,
    write_predictions,
)

Y4 = np.array([0, 1, 2, 2])
PRED4 = np.array([0, 2, 2, 2])
PROBA4 = np.array([[0.7, 0.2, 0.1], [0.2, 0.3, 0.5], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])


def test_multiclass_metrics_by_hand() -> None:
    scores = score_split("classification_multi", Y4, PRED4, PROBA4, loss=0.42, class_count=3)
    assert list(scores) == list(METRICS["classification_multi"])
    assert scores["accuracy"] == pytest.approx(0.75)
    assert scores["precision"] == pytest.approx((1 * 1 + 0 * 1 + (2 / 3) * 2) / 4)
    assert scores["recall"] == pytest.approx((1 + 0 + 2) / 4)
    assert scores["f1"] == pytest.approx((1 * 1 + 0 + 0.8 * 2) / 4)
    assert scores["loss"] == 0.42
    # one-vs-rest AUCs: class 0 → 1, class 1 → 1/3·… computed by pairwise ranks, weighted by support
    auc0 = 1.0  # 0.7 beats 0.2, 0.1, 0.3
    auc1 = np.mean([0.3 > s for s in (0.2, 0.1, 0.3)]) + 0.5 * np.mean([0.3 == s for s in (0.2, 0.1, 0.3)])
    auc2 = np.mean([p > n for p in (0.8, 0.4) for n in (0.1, 0.5)])
    assert scores["roc_auc"] == pytest.approx((auc0 * 1 + auc1 * 1 + auc2 * 2) / 4)


def test_onehot_and_ordinal_labels_score_the_same() -> None:
    ordinal = score_split("classification_multi", Y4.reshape(-1, 1), PRED4, PROBA4, 0.1, 3)
    encoded = score_split("classification_multi", onehot(Y4, 3), PRED4, PROBA4, 0.1, 3)
    assert ordinal == encoded
    assert class_indices(np.array([[0.0], [2.0]])).tolist() == [0, 2]


def test_absent_class_gives_null_roc_auc_not_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    y, pred = np.array([0, 1, 0, 1]), np.array([0, 1, 1, 1])
    proba = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.4, 0.5, 0.1], [0.1, 0.8, 0.1]])
    with caplog.at_level(logging.WARNING):
        scores = score_split("classification_multi", y, pred, proba, None, 3, split="test")
    assert scores["roc_auc"] is None and scores["loss"] is None
    assert scores["accuracy"] == 0.75
    assert "metric roc_auc undefined on split test" in caplog.text


def test_binary_metrics_with_sigmoid_or_two_column_proba() -> None:
    y = np.array([[0], [0], [1], [1], [1]])
    p = np.array([0.1, 0.6, 0.4, 0.8, 0.9])
    pred = (p > 0.5).astype(int)
    one = score_split("classification_binary", y, pred, p.reshape(-1, 1), 0.3)
    two = score_split("classification_binary", y, pred, np.column_stack([1 - p, p]), 0.3)
    assert one == two
    assert one["roc_auc"] == pytest.approx(5 / 6)  # positives (0.4, 0.8, 0.9) vs negatives (0.1, 0.6)
    assert one["accuracy"] == pytest.approx(3 / 5)
    assert one["precision"] == pytest.approx(2 / 3) and one["recall"] == pytest.approx(2 / 3)
    assert one["f1"] == pytest.approx(2 / 3)


def test_regression_metrics_by_hand_and_3d_outputs() -> None:
    y = np.array([[1.0], [2.0], [3.0], [4.0]])
    pred = np.array([1.5, 2.0, 2.5, 4.5])
    scores = score_split("regression", y, pred, loss=0.375)
    assert scores["mse"] == pytest.approx(0.1875)
    assert scores["r2"] == pytest.approx(1 - 0.75 / 5.0)
    residual = y.ravel() - pred
    assert scores["explained_variance"] == pytest.approx(1 - residual.var() / y.var())
    cube = np.arange(24, dtype=float).reshape(2, 3, 4)
    flat = score_split("regression", cube, cube + 1.0)
    assert flat["mse"] == pytest.approx(1.0)
    sst = ((cube.reshape(-1, 4) - cube.reshape(-1, 4).mean(axis=0)) ** 2).sum(axis=0)
    assert flat["r2"] == pytest.approx(np.mean(1 - 6 / sst))


def test_score_splits_and_metric_rows() -> None:
    outputs = {
        "fold_validation": SplitPredictions(np.arange(4), Y4, PRED4, PROBA4, 0.5),
        "test": SplitPredictions(np.arange(4), Y4, Y4, PROBA4, 0.25),
    }
    scores = score_splits("classification_multi", outputs, 3)
    assert scores["test"]["accuracy"] == 1.0 and scores["fold_validation"]["accuracy"] == 0.75
    rows = metric_rows(scores)
    assert len(rows) == 12
    assert {"name": "loss", "split": "test", "value": 0.25} in rows


def test_plot_data_multiclass_is_micro_and_over_all_classes(tmp_path) -> None:
    from sklearn.metrics import roc_curve

    y, pred = np.array([0, 0, 1]), np.array([0, 1, 1])
    proba = np.array([[0.8, 0.1, 0.1], [0.4, 0.5, 0.1], [0.2, 0.7, 0.1]])
    data = plot_data_split("classification_multi", y, pred, proba, class_count=3)
    np.testing.assert_array_equal(data["confusion"], [[1, 1, 0], [0, 1, 0], [0, 0, 0]])
    fpr, tpr, _ = roc_curve(onehot(y, 3).ravel(), proba.ravel())
    np.testing.assert_array_equal(data["roc_fpr"], fpr)
    np.testing.assert_array_equal(data["roc_tpr"], tpr)
    assert data["pr_precision"][-1] == 1.0 and data["pr_recall"][-1] == 0.0
    path = write_plot_data(tmp_path / "plot_data.npz", {"test": data, "train": data})
    back = read_plot_data(path)
    assert sorted(back) == ["test", "train"]
    for key, value in data.items():
        np.testing.assert_array_equal(back["test"][key], value)
    assert plot_data_split("regression", y, pred, None) == {}


def test_plot_data_binary_uses_positive_probability() -> None:
    from sklearn.metrics import precision_recall_curve

    y = np.array([0, 1, 1, 0])
    p = np.array([0.2, 0.9, 0.4, 0.6])
    data = plot_data_split("classification_binary", y, (p > 0.5).astype(int), np.column_stack([1 - p, p]))
    np.testing.assert_array_equal(data["confusion"], [[1, 1], [1, 1]])
    precision, recall, _ = precision_recall_curve(y, p)
    np.testing.assert_array_equal(data["pr_precision"], precision)
    np.testing.assert_array_equal(data["pr_recall"], recall)


def test_predictions_frame_classification(tmp_path) -> None:
    names = ["setosa", "versicolor", "virginica"]
    outputs = {
        "fold_validation": SplitPredictions(
            np.array([5, 9]), onehot([0, 2], 3), np.array([0, 1]), PROBA4[:2], 0.1
        ),
        "test": SplitPredictions(np.array([1]), onehot([1], 3), np.array([1]), PROBA4[2:3], 0.2),
    }
    frame = predictions_frame("classification_multi", outputs, class_names=names)
    assert list(frame.columns) == [
        "split",
        "sample",
        "y_true",
        "y_pred",
        "p_setosa",
        "p_versicolor",
        "p_virginica",
    ]
    assert frame["y_true"].tolist() == ["setosa", "virginica", "versicolor"]
    assert frame["y_pred"].tolist() == ["setosa", "versicolor", "versicolor"]
    assert frame["sample"].tolist() == [5, 9, 1]
    np.testing.assert_array_equal(frame[["p_setosa", "p_versicolor", "p_virginica"]].to_numpy(), PROBA4[:3])
    first = write_predictions(tmp_path / "a" / "predictions.parquet", frame)
    second = write_predictions(tmp_path / "b" / "predictions.parquet", frame.copy())
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    pd.testing.assert_frame_equal(pd.read_parquet(first), frame)


def test_predictions_frame_binary_and_regression() -> None:
    binary = predictions_frame(
        "classification_binary",
        {
            "test": SplitPredictions(
                np.arange(2), np.array([[0], [1]]), np.array([0, 1]), np.array([[0.2], [0.7]]), 0
            )
        },
    )
    assert list(binary.columns) == ["split", "sample", "y_true", "y_pred", "p_0", "p_1"]
    np.testing.assert_allclose(binary[["p_0", "p_1"]].to_numpy(), [[0.8, 0.2], [0.3, 0.7]])
    regression = predictions_frame(
        "regression",
        {"test": SplitPredictions(np.arange(2), np.array([[1.0], [2.0]]), np.array([1.5, 2.5]), None, 0.5)},
        decode=lambda a: a * 10 + 1,
        target_columns=["height"],
    )
    assert list(regression.columns) == ["split", "sample", "y_true_height", "y_pred_height"]
    assert regression["y_true_height"].tolist() == [11.0, 21.0]
    assert regression["y_pred_height"].tolist() == [16.0, 26.0]
    with pytest.raises(ValueError, match=r"pred_test\.npy"):
        predictions_frame(
            "regression",
            {"test": SplitPredictions(np.arange(2), np.zeros((2, 3, 1)), np.zeros((2, 3, 1)), None, 0)},
        )
