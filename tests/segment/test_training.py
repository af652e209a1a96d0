"""§8/§15.9: checkpoints, validation points, resume equals an uninterrupted run; determinism."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from snakelab.core.errors import InputError
from snakelab.segment import paths
from snakelab.segment.stats import TrainingIterationStats, TrainingStats, ValidationScores
from snakelab.segment.training import checkpoint_iterations, load_checkpoint, train_run, validation_points


def losses(run_dir: Path) -> np.ndarray:
    return np.array([s.loss for s in TrainingStats.read(paths.stats_path(run_dir)).iteration_stats])


def final_weights(run_dir: Path, n: int) -> dict:
    return load_checkpoint(paths.checkpoint_path(run_dir, n))["model"]


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key].numpy(), b[key].numpy(), rtol=1e-6, atol=0)


def test_validation_points_include_the_last_iteration() -> None:
    assert validation_points(20, 10) == [10, 20]
    assert validation_points(25, 10) == [10, 20, 25]
    assert validation_points(6, 1000) == [6]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, tiny_data: Path, tiny_section: dict) -> Path:
    from snakelab.segment.configs import resolve_run, write_configs

    section = {
        **tiny_section,
        "runs": [{**tiny_section["runs"][1], "num_iterations": 20, "validation_interval": 10}],
    }
    root = tmp_path_factory.mktemp("uninterrupted")
    (root / "data").mkdir()
    for name in ("tr", "va"):
        (root / "data" / f"{name}.zarr").symlink_to(tiny_data / "data" / f"{name}.zarr")
    run_dir = write_configs(resolve_run(section, "b__0", root), root).parent
    done = train_run(run_dir, threads=1)
    assert done["iterations"] == 20 and done["checkpoints"] == [10, 20]
    return run_dir


def resumable(make_run: Callable[..., Path], tiny_section: dict) -> Path:
    section = {
        **tiny_section,
        "runs": [{**tiny_section["runs"][1], "num_iterations": 20, "validation_interval": 10}],
    }
    return make_run("b__0", section)


def test_checkpoint_is_loadable_with_weights_only_and_holds_the_resume_state(uninterrupted: Path) -> None:
    state = load_checkpoint(paths.checkpoint_path(uninterrupted, 10))
    assert state["iteration"] == 10
    assert state["optimizer"]["state"], "optimiser moments are stored"
    assert state["scheduler"]["last_epoch"] == 10
    assert {"torch_rng", "numpy_rng", "config_hash", "model"} <= set(state)
    scores = ValidationScores.read_json(paths.scores_path(uninterrupted))
    assert scores.iterations == [10, 20]
    assert scores.parameters == ["threshold_0.00", "threshold_0.25"]


def test_resume_after_checkpoint_equals_uninterrupted(
    uninterrupted: Path, make_run: Callable[..., Path], tiny_section: dict
) -> None:
    run_dir = resumable(make_run, tiny_section)
    assert train_run(run_dir, threads=1, stop_after=10) == {}
    assert checkpoint_iterations(run_dir) == [10]
    assert not paths.done_path(run_dir).exists()
    train_run(run_dir, threads=1)
    np.testing.assert_allclose(losses(run_dir), losses(uninterrupted), rtol=1e-6)
    assert_same_weights(final_weights(run_dir, 20), final_weights(uninterrupted, 20))
    assert ValidationScores.read_json(paths.scores_path(run_dir)) == ValidationScores.read_json(
        paths.scores_path(uninterrupted)
    )


def test_stats_beyond_the_newest_checkpoint_are_truncated_and_retrained(
    uninterrupted: Path, make_run: Callable[..., Path], tiny_section: dict
) -> None:
    run_dir = resumable(make_run, tiny_section)
    train_run(run_dir, threads=1, stop_after=10)
    stats = TrainingStats.read(paths.stats_path(run_dir))
    for i in range(10, 15):
        stats.add_iteration_stats(TrainingIterationStats(i, 99.0, 0.0))
    stats.write(paths.stats_path(run_dir))
    train_run(run_dir, threads=1)
    np.testing.assert_allclose(losses(run_dir), losses(uninterrupted), rtol=1e-6)


def test_checkpoint_newer_than_stats_is_an_error(make_run: Callable[..., Path], tiny_section: dict) -> None:
    run_dir = resumable(make_run, tiny_section)
    train_run(run_dir, threads=1, stop_after=10)
    stats = TrainingStats.read(paths.stats_path(run_dir))
    stats.delete_after(5)
    stats.write(paths.stats_path(run_dir))
    with pytest.raises(InputError, match="newer than the training stats"):
        train_run(run_dir, threads=1)


def test_checkpoint_without_scores_is_validated_on_resume(
    make_run: Callable[..., Path], tiny_section: dict
) -> None:
    run_dir = resumable(make_run, tiny_section)
    train_run(run_dir, threads=1, stop_after=10)
    paths.scores_path(run_dir).unlink()
    train_run(run_dir, threads=1)
    assert ValidationScores.read_json(paths.scores_path(run_dir)).iterations == [10, 20]


def test_same_config_same_losses(
    uninterrupted: Path, make_run: Callable[..., Path], tiny_section: dict
) -> None:
    run_dir = resumable(make_run, tiny_section)
    train_run(run_dir, threads=1)
    np.testing.assert_array_equal(losses(run_dir), losses(uninterrupted))
