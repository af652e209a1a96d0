"""Training stats, validation scores and best selection (spec §7, §10; acceptance §15.3, §15.4)."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pytest

from snakelab.core.errors import InputError
from snakelab.segment.stats import (
    TrainingIterationStats,
    TrainingStats,
    ValidationIterationScores,
    ValidationScores,
    get_best,
    select_best,
)

NAN = math.nan


def _training(*iterations: int) -> TrainingStats:
    return TrainingStats(TrainingIterationStats(i, 1.0 / (i + 1), 0.01 * i) for i in iterations)


def test_training_stats_replace_rule_delete_after_and_trained_until(caplog: pytest.LogCaptureFixture) -> None:
    stats = _training(0, 1, 2)
    assert stats.trained_until() == 3
    with caplog.at_level(logging.WARNING, logger="snakelab.segment.stats"):
        stats.add_iteration_stats(TrainingIterationStats(1, 0.25, 0.5))
    assert "iteration 1 already recorded" in caplog.text
    assert stats.iterations == [0, 1]
    assert stats.iteration_stats[1].loss == 0.25
    stats.delete_after(1)
    assert stats.iterations == [0]
    assert stats.trained_until() == 1
    assert TrainingStats().trained_until() == 0


def test_training_stats_xarray_and_csv_round_trip(tmp_path) -> None:
    stats = _training(0, 1, 2)
    stats.add_iteration_stats(TrainingIterationStats(3, NAN, 0.1 + 0.2))
    array = stats.to_xarray()
    assert array.name == "loss" and array.dims == ("iterations",)
    assert array["iterations"].values.tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(array.values[:3], [1.0, 0.5, 1 / 3])
    path = stats.write(tmp_path / "training_stats.csv")
    assert path.read_text().splitlines()[0] == "iteration,loss,time"
    back = TrainingStats.read(path)
    assert back == stats
    assert math.isnan(back.iteration_stats[3].loss)
    assert back.iteration_stats[3].time == 0.1 + 0.2  # exact float round trip


def test_training_stats_read_rejects_bad_rows(tmp_path) -> None:
    path = tmp_path / "training_stats.csv"
    path.write_text("iteration,loss,time\n0,x,1\n")
    with pytest.raises(InputError, match="line 2"):
        TrainingStats.read(path)
    path.write_text("it,loss\n")
    with pytest.raises(InputError, match="header"):
        TrainingStats.read(path)


def _scores(values: dict[int, list], datasets=("a",), parameters=("bias_0.50",), criteria=("voi", "dice")):
    scores = ValidationScores(parameters, datasets, criteria, {"voi": False, "dice": True})
    for iteration, grid in values.items():
        scores.add_iteration_scores(ValidationIterationScores(iteration, grid))
    return scores


def test_validation_iteration_scores_shape_checks() -> None:
    with pytest.raises(ValueError, match="rectangular"):
        ValidationIterationScores(0, [[[1.0, 2.0]], [[1.0]]])
    with pytest.raises(ValueError, match="3 axes"):
        ValidationIterationScores(0, [[1.0, 2.0]])
    scores = _scores({})
    with pytest.raises(ValueError, match=r"expected \(n_datasets, n_parameters, n_criteria\) = \(1, 1, 2\)"):
        scores.add_iteration_scores(ValidationIterationScores(0, [[[1.0, 2.0, 3.0]]]))


def test_validation_scores_replace_rule_and_validated_until() -> None:
    scores = _scores({100: [[[0.5, 0.7]]], 200: [[[0.3, NAN]]], 300: [[[NAN, 0.9]]]})
    assert scores.validated_until() == 301
    scores.add_iteration_scores(ValidationIterationScores(200, [[[0.1, 0.2]]]))
    assert scores.iterations == [100, 200]
    assert scores.validated_until() == 201
    scores.delete_after(200)
    assert scores.iterations == [100]
    assert _scores({}).validated_until() == 0


def test_to_xarray_dims_and_coordinates() -> None:
    scores = _scores(
        {10: [[[1, 2]], [[3, 4]]], 20: [[[5, 6]], [[7, 8]]]}, datasets=("d0", "d1"), parameters=("bias_0.10",)
    )
    array = scores.to_xarray()
    assert array.dims == ("iterations", "datasets", "parameters", "criteria")
    assert array["iterations"].values.tolist() == [10, 20]
    assert array["datasets"].values.tolist() == ["d0", "d1"]
    assert array["criteria"].values.tolist() == ["voi", "dice"]
    assert float(array.sel(iterations=20, datasets="d1", parameters="bias_0.10", criteria="voi")) == 7.0
    assert _scores({}).to_xarray().shape == (0, 1, 1, 2)


def test_get_best_acceptance_cases() -> None:
    scores = _scores({100: [[[0.5, 0.7]]], 200: [[[0.3, NAN]]], 300: [[[NAN, 0.9]]]})
    data = scores.to_xarray().sel(datasets="a", parameters="bias_0.50")
    indices, values = scores.get_best(data, "iterations")
    assert indices.sel(criteria="voi").item() == 200
    assert float(values.sel(criteria="voi")) == 0.3
    assert indices.sel(criteria="dice").item() == 300
    assert float(values.sel(criteria="dice")) == 0.9
    # a scalar criterion coordinate works too
    index, value = scores.get_best(data.sel(criteria="voi"), "iterations")
    assert index.item() == 200 and float(value) == 0.3


def test_get_best_ties_and_all_nan() -> None:
    scores = _scores({100: [[[0.4, NAN]]], 200: [[[0.4, NAN]]], 300: [[[0.4, NAN]]]})
    indices, values = scores.get_best(scores.to_xarray().isel(datasets=0, parameters=0), "iterations")
    assert indices.sel(criteria="voi").item() == 100 and float(values.sel(criteria="voi")) == 0.4
    assert indices.sel(criteria="dice").item() is None
    assert math.isnan(float(values.sel(criteria="dice")))
    # no validated iteration yet: nothing to pick
    empty = _scores({})
    indices, values = empty.get_best(empty.to_xarray().isel(datasets=0, parameters=0), "iterations")
    assert indices.values.tolist() == [None, None] and np.isnan(values.values).all()


def test_validation_scores_constructor_checks() -> None:
    with pytest.raises(ValueError, match="datasets must be unique"):
        ValidationScores(["p"], ["a", "a"], ["voi"], {"voi": False})
    with pytest.raises(ValueError, match=r"no entry for criteria \['dice'\]"):
        ValidationScores(["p"], ["a"], ["voi", "dice"], {"voi": False})
    scores = ValidationScores(["p"], ["a"], ["voi", "dice"], [False, True])
    assert scores.higher_is_better == {"voi": False, "dice": True}


def test_get_best_over_parameters_keeps_other_dims() -> None:
    scores = _scores(
        {1: [[[0.2, 0.1], [0.1, 0.1], [0.1, 0.3]]], 2: [[[NAN, NAN], [0.5, 0.4], [0.6, 0.4]]]},
        parameters=("p0", "p1", "p2"),
    )
    indices, values = get_best(scores.to_xarray().isel(datasets=0), "parameters", scores.higher_is_better)
    assert set(indices.dims) == {"criteria", "iterations"}
    assert indices.sel(criteria="voi", iterations=1).item() == "p1"  # min, first of the tie 0.1/0.1
    assert indices.sel(criteria="dice", iterations=1).item() == "p2"
    assert indices.sel(criteria="voi", iterations=2).item() == "p1"  # NaN skipped
    assert indices.sel(criteria="dice", iterations=2).item() == "p1"  # tie 0.4/0.4 → first
    np.testing.assert_array_equal(values.sel(criteria="voi").values, [0.1, 0.5])


def test_json_and_csv_round_trips_preserve_nan(tmp_path) -> None:
    scores = _scores(
        {10: [[[0.5, NAN]], [[NAN, 0.1 + 0.2]]], 20: [[[NAN, NAN]], [[1e-300, -0.0]]]}, datasets=("x", "y")
    )
    json_path = scores.write_json(tmp_path / "validation_scores.json")
    document = json.loads(json_path.read_text())
    assert document["scores"][0] == {"iteration": 10, "scores": [[[0.5, None]], [[None, 0.1 + 0.2]]]}
    assert document["higher_is_better"] == {"voi": False, "dice": True}
    assert ValidationScores.read_json(json_path) == scores
    csv_path = scores.write_csv(tmp_path / "validation_scores.csv")
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "iteration,dataset,parameter,criterion,value"
    assert lines[1:3] == ["10,x,bias_0.50,voi,0.5", "10,x,bias_0.50,dice,nan"]
    assert len(lines) == 1 + 2 * 2 * 1 * 2
    back = ValidationScores.read_csv(csv_path)
    assert back == scores
    assert np.isnan(back.to_array()).sum() == 4


def test_read_json_rejects_missing_keys(tmp_path) -> None:
    path = tmp_path / "validation_scores.json"
    path.write_text(json.dumps({"datasets": ["a"], "parameters": ["p"], "criteria": ["voi"]}))
    with pytest.raises(InputError, match="higher_is_better"):
        ValidationScores.read_json(path)


def test_select_best_uses_the_dataset_mean_jointly() -> None:
    # 2 datasets × 2 parameters, dice (higher is better) and voi (lower is better)
    grid_100 = [[[0.80, 0.2], [0.90, 0.3]], [[0.80, 0.4], [0.60, 0.1]]]  # means p0: 0.80/0.3, p1: 0.75/0.2
    grid_200 = [[[0.70, 0.1], [0.95, 0.5]], [[0.70, 0.1], [0.85, 0.5]]]  # means p0: 0.70/0.1, p1: 0.90/0.5
    scores = _scores(
        {100: grid_100, 200: grid_200},
        datasets=("d0", "d1"),
        parameters=("p0", "p1"),
        criteria=("dice", "voi"),
    )
    best = select_best(scores, "dice")
    assert (best.iteration, best.parameter, best.higher_is_better) == (200, "p1", True)
    assert best.value == pytest.approx(0.90)
    assert best.per_dataset == {"d0": 0.95, "d1": 0.85}
    best = select_best(scores, "voi")
    assert (best.iteration, best.parameter) == (200, "p0")
    assert best.value == pytest.approx(0.1)


def test_select_best_nan_ties_and_errors() -> None:
    # d1 NaN at (100, p0) makes that mean NaN although d0 is perfect; ties → lowest iteration, first parameter
    scores = _scores(
        {100: [[[1.0]], [[NAN]]], 200: [[[0.5]], [[0.5]]], 300: [[[0.5]], [[0.5]]]},
        datasets=("d0", "d1"),
        parameters=("p0",),
        criteria=("dice",),
    )
    best = select_best(scores, "dice")
    assert (best.iteration, best.parameter, best.value) == (200, "p0", 0.5)
    tie = _scores({5: [[[0.3], [0.3]]]}, parameters=("p0", "p1"), criteria=("voi",))
    assert select_best(tie, "voi").parameter == "p0"
    all_nan = _scores({5: [[[NAN]]], 6: [[[NAN]]]}, criteria=("voi",))
    with pytest.raises(InputError, match="criterion voi: every"):
        select_best(all_nan, "voi", source="runs/r/validation_scores.json")
    with pytest.raises(InputError, match="criterion: expected one of"):
        select_best(all_nan, "dice")
