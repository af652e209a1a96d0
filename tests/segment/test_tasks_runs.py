"""Every task trains and validates end to end on the tiny volumes: one-hot (kernel 3 head), distance on a
class channel, and affinities with validation arrays stored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml
import zarr

from snakelab.segment import paths
from snakelab.segment.stats import ValidationScores
from snakelab.segment.training import train_run


def short(tiny_section: dict, task: dict, **trainer: object) -> dict:
    return {
        **tiny_section,
        "tasks": {**tiny_section["tasks"], "t": task},
        "trainers": {"t": {**tiny_section["trainers"]["t"], **trainer}},
        "runs": [{**tiny_section["runs"][0], "task": "t", "num_iterations": 3, "validation_interval": 3}],
    }


def test_one_hot_run_with_a_kernel_3_head(make_run: Callable[..., Path], tiny_section: dict) -> None:
    task = {"type": "one_hot", "classes": ["background", "interior", "boundary"], "kernel_size": 3}
    section = short(tiny_section, task)
    run_dir = make_run("a__0", section)
    run = yaml.safe_load((run_dir / "run.yaml").read_text())
    assert run["shapes"]["output_shape"] == [2, 2, 2] and run["shapes"]["context"] == [9, 9, 9]
    train_run(run_dir, threads=1)
    scores = ValidationScores.read_json(paths.scores_path(run_dir))
    assert scores.parameters == ["argmax"]
    assert scores.criteria == [
        "accuracy",
        "background__dice",
        "interior__dice",
        "boundary__dice",
        "mean_dice",
    ]
    values = scores.to_array()[0, 0, 0]
    assert 0 <= values[0] <= 1 and np.isfinite(values[0])


def test_distance_on_a_class_channel(make_run: Callable[..., Path], tiny_section: dict) -> None:
    task = {"type": "distance", "channels": ["fg", "core"], "class_ids": {"core": 1}, "thresholds": [0.0]}
    run_dir = make_run("a__0", short(tiny_section, task))
    train_run(run_dir, threads=1)
    scores = ValidationScores.read_json(paths.scores_path(run_dir))
    assert scores.criteria[:2] == ["fg__dice", "fg__jaccard"] and "core__hausdorff" in scores.criteria
    assert np.isfinite(scores.to_xarray().sel(criteria="core__dice").values).all()


def test_affinities_with_elastic_augment_and_stored_validation_arrays(
    make_run: Callable[..., Path], tiny_section: dict
) -> None:
    elastic = {
        "type": "elastic",
        "control_point_spacing": [4, 4, 4],
        "displacement_sigma": [1, 1, 1],
        "rotation": [-0.3, 0.3],
    }
    augments = [{"type": "simple"}, {"type": "intensity", "scale": [0.9, 1.1], "shift": [-0.1, 0.1]}, elastic]
    run_dir = make_run("a__0", short(tiny_section, tiny_section["tasks"]["affs"], augments=augments))
    train_run(run_dir, threads=1, store_arrays=True)
    group = zarr.open_group(str(paths.validation_arrays(run_dir, 3) / "va"), mode="r")
    prediction = group["prediction"]
    assert prediction.shape == (3, 24, 40, 40) and dict(prediction.attrs)["axis_names"] == [
        "c^",
        "z",
        "y",
        "x",
    ]
    assert 0 <= float(np.min(prediction[...])) and float(np.max(prediction[...])) <= 1
    assert group["output/bias_0.50"].dtype == np.uint64
