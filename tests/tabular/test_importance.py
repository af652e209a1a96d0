"""Permutation feature importance (spec §8)."""

from __future__ import annotations

import json
import statistics

import numpy as np
import pytest

from snakelab.tabular.importance import (
    column_seed,
    permutation_importance,
    permute_column,
    read_importance,
    write_importance,
)
from snakelab.tabular.seeds import derive_seed

X = np.arange(12, dtype=np.float64).reshape(6, 2) ** 1.5
TARGET = 2.0 * X[:, 0]


def mse_on_column_0(features: list[np.ndarray]) -> float:
    """A 'model' that predicts 2·x0: only column 0 matters."""
    return float(np.mean((2.0 * features[0][:, 0] - TARGET) ** 2))


def test_impacts_are_recomputed_losses_minus_baseline_with_derived_seeds() -> None:
    result = permutation_importance(
        mse_on_column_0, [X], [["a", "b"]], permute_count=3, fi_seed=77, fi_split="test"
    )
    assert result.baseline_loss == 0.0
    assert (result.permute_count, result.fi_seed, result.fi_split) == (3, 77, "test")
    fi = result.feature_importance
    assert list(fi) == ["0"] and list(fi["0"]) == ["a", "b"]
    assert fi["0"]["b"] == {"median": 0.0, "mean": 0.0, "sd": 0.0, "loss_impacts": [0.0, 0.0, 0.0]}
    rng = np.random.default_rng(derive_seed(77, 0, 0))
    expected = [float(np.mean((2.0 * rng.permutation(X[:, 0]) - TARGET) ** 2)) for _ in range(3)]
    assert fi["0"]["a"]["loss_impacts"] == expected
    assert fi["0"]["a"]["median"] == statistics.median(expected)
    assert fi["0"]["a"]["mean"] == pytest.approx(statistics.fmean(expected))
    assert fi["0"]["a"]["sd"] == pytest.approx(statistics.stdev(expected))
    assert min(expected) > 0
    again = permutation_importance(mse_on_column_0, [X], [["a", "b"]], 3, 77, "test")
    assert again == result
    other = permutation_importance(mse_on_column_0, [X], [["a", "b"]], 3, 78, "test")
    assert other.feature_importance["0"]["a"]["loss_impacts"] != expected


def test_column_seed_is_derive_seed_of_feature_and_column() -> None:
    assert column_seed(5, 1, 3) == derive_seed(5, 1, 3)
    assert len({column_seed(5, f, j) for f in range(3) for j in range(3)}) == 9


def test_one_permutation_has_no_sd_and_features_can_be_skipped() -> None:
    second = np.ones((6, 3))
    result = permutation_importance(
        mse_on_column_0,
        [X, second],
        [["a", "b"], ["x", "y", "z"]],
        1,
        0,
        "fold_validation",
        skip_features={1},
    )
    assert list(result.feature_importance) == ["0"]
    assert result.feature_importance["0"]["a"]["sd"] is None
    with pytest.raises(ValueError, match="permute_count"):
        permutation_importance(mse_on_column_0, [X], [["a", "b"]], 0, 0, "test")
    with pytest.raises(ValueError, match="2 encoded columns but 1 names"):
        permutation_importance(mse_on_column_0, [X], [["a"]], 1, 0, "test")


def test_3d_features_permute_all_values_of_a_column() -> None:
    cube = np.arange(24, dtype=float).reshape(2, 3, 4)
    permuted = permute_column(cube, 2, np.random.default_rng(0))
    np.testing.assert_array_equal(np.delete(permuted, 2, axis=-1), np.delete(cube, 2, axis=-1))
    assert sorted(permuted[..., 2].ravel()) == sorted(cube[..., 2].ravel())
    expected = np.random.default_rng(0).permutation(cube[..., 2].reshape(-1)).reshape(2, 3)
    np.testing.assert_array_equal(permuted[..., 2], expected)
    assert not np.array_equal(permuted, cube)


def test_importance_json_round_trip_with_nan(tmp_path) -> None:
    result = permutation_importance(lambda f: float("nan"), [X], [["a", "b"]], 2, 3, "test")
    path = write_importance(tmp_path / "importance.json", result)
    doc = json.loads(path.read_text())
    assert doc["fi_seed"] == 3 and doc["feature_importance"]["0"]["a"]["loss_impacts"] == [None, None]
    fine = permutation_importance(mse_on_column_0, [X], [["a", "b"]], 2, 3, "test")
    assert read_importance(write_importance(tmp_path / "ok.json", fine)) == fine
