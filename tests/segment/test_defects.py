"""§12: the reference's defects, each shown absent (those of targets/post-processing/metrics/stats are tested
in test_targets*, test_postprocess*, test_evaluate*, test_stats*)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from snakelab.core.errors import InputError
from snakelab.segment import paths
from snakelab.segment.configs import check_section
from snakelab.segment.stats import ValidationIterationScores, ValidationScores
from snakelab.segment.training import train_run


def test_1_semantic_validation_matches_axes_by_name(make_run: Callable[..., Path]) -> None:
    run_dir = make_run("b__0")
    train_run(run_dir, threads=1)
    scores = ValidationScores.read_json(paths.scores_path(run_dir))
    array = scores.to_xarray().sel(criteria="fg__dice")
    assert array.shape == (2, 1, 2)
    assert np.isfinite(array.values).all()


def test_2_threshold_127_is_rejected_before_any_job(tiny_section: dict) -> None:
    section = copy.deepcopy(tiny_section)
    section["tasks"]["dist"]["thresholds"] = [127]
    with pytest.raises(InputError, match=r"threshold 127 is outside the prediction range \(-1, 1\)"):
        check_section(section)


def test_4_evaluator_errors_propagate_out_of_the_train_job(
    make_run: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from snakelab.segment.tasks import base

    def broken(*args: object, **kwargs: object) -> dict:
        raise RuntimeError("evaluator failed")

    monkeypatch.setattr(base, "evaluate", broken)
    run_dir = make_run("b__0")
    with pytest.raises(RuntimeError, match="evaluator failed"):
        train_run(run_dir, threads=1)
    assert not paths.done_path(run_dir).exists()
    assert not paths.scores_path(run_dir).exists()


def test_5_best_file_is_written_and_read_at_one_path(make_run: Callable[..., Path]) -> None:
    from snakelab.segment.best import read_best, write_best

    run_dir = make_run("b__0")
    train_run(run_dir, threads=1)
    scores = ValidationScores(
        ["threshold_0.00", "threshold_0.25"], ["va", "vb"], ["fg__dice"], {"fg__dice": True}
    )
    scores.add_iteration_scores(ValidationIterationScores(3, np.array([[[0.9], [0.2]], [[0.1], [0.6]]])))
    scores.add_iteration_scores(ValidationIterationScores(6, np.array([[[0.5], [0.7]], [[0.5], [0.6]]])))
    scores.write_json(paths.scores_path(run_dir))
    written = write_best(run_dir)
    assert written == paths.best_path(run_dir, "fg__dice")
    best = read_best(written)
    assert (best["iteration"], best["parameter"]) == (6, "threshold_0.25")
    assert best["value"] == pytest.approx(0.65)
    assert best["parameter_values"] == {"threshold": 0.25}
    assert Path(best["checkpoint_path"]) == paths.checkpoint_path(run_dir, 6)


def test_6_weighted_affinity_loss_uses_the_weights() -> None:
    import torch

    from snakelab.segment.tasks.losses import weighted_bce_with_logits

    logits = torch.tensor([[2.0, -1.0, 0.5]])
    target = torch.tensor([[1.0, 1.0, 0.0]])
    per_voxel = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    weight = torch.tensor([[0.0, 2.0, 1.0]])
    expected = float((per_voxel * weight).mean())
    assert float(weighted_bce_with_logits(logits, target, weight)) == pytest.approx(expected)
    assert float(weighted_bce_with_logits(logits, target, torch.zeros_like(weight))) == 0.0


def test_6_validation_runs_when_num_iterations_is_below_the_interval(
    make_run: Callable[..., Path], tiny_section: dict
) -> None:
    section = {
        **tiny_section,
        "runs": [{**tiny_section["runs"][0], "num_iterations": 4, "validation_interval": 1000}],
    }
    run_dir = make_run("a__0", section)
    done = train_run(run_dir, threads=1)
    assert done["checkpoints"] == [4]
    assert ValidationScores.read_json(paths.scores_path(run_dir)).iterations == [4]


def test_6_parameter_keys_are_plain_names(tiny_section: dict) -> None:
    from snakelab.segment.tasks import get_task

    keys = [p.key for t in tiny_section["tasks"].values() for p in get_task(t).parameters()]
    assert keys == ["bias_0.50", "bias_0.90", "threshold_0.00", "threshold_0.25"]
    assert all(re.fullmatch(r"[a-z]+_-?\d+\.\d\d", k) for k in keys)


def test_6_optimiser_and_rng_states_are_restored_on_resume(
    make_run: Callable[..., Path], tiny_section: dict
) -> None:
    from snakelab.segment.batches import load_training_data
    from snakelab.segment.configs import load_run
    from snakelab.segment.trainer import Trainer
    from snakelab.segment.training import load_checkpoint

    section = {
        **tiny_section,
        "runs": [{**tiny_section["runs"][1], "num_iterations": 6, "validation_interval": 3}],
    }
    run_dir = make_run("b__0", section)
    train_run(run_dir, threads=1, stop_after=3)
    saved = load_checkpoint(paths.checkpoint_path(run_dir, 3))
    run = load_run(paths.run_yaml(run_dir))
    trainer = Trainer(run, [load_training_data(e) for e in run["datasplit"]["resolved"]["train"]], threads=1)
    trainer.load_state(saved)
    state = trainer.optimizer.state_dict()["state"]
    assert {float(v["step"]) for v in state.values()} == {3.0}
    for key, value in saved["optimizer"]["state"].items():
        np.testing.assert_array_equal(state[key]["exp_avg"].numpy(), value["exp_avg"].numpy())
    assert trainer.scheduler.last_epoch == 3 and trainer.iteration == 3
    assert trainer.rng.bit_generator.state == json.loads(saved["numpy_rng"])
