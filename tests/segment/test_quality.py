"""§15.10/§15.11: the demo runs (unet_demo, batch 2, lr 2e-3, warm-up 50, no augments, 400 iterations, seed 0)
reach dice ≥ 0.90 (distance, best threshold) and VOI ≤ 0.30 (affinities, best bias) on synthetic_validate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from snakelab.segment import paths
from snakelab.segment.stats import ValidationScores, select_best
from tests.harness import REPO
from tests.segment.conftest import validated_section

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    from snakelab.segment.configs import data_path
    from snakelab.segment.data import make_data

    config = yaml.safe_load((REPO / "config" / "examples" / "segment_demo.yaml").read_text())
    section = validated_section(config["segment"])
    root = tmp_path_factory.mktemp("segment_demo")
    for name, spec in section["data"].items():
        make_data(spec, data_path(root, name))
    return section, root


def trained(demo: tuple[dict, Path], run: str) -> ValidationScores:
    from snakelab.segment.configs import resolve_run, write_configs
    from snakelab.segment.training import train_run

    section, root = demo
    run_dir = write_configs(resolve_run(section, run, root), root).parent
    train_run(run_dir, threads=section["threads"])
    return ValidationScores.read_json(paths.scores_path(run_dir))


def test_distance_dice_at_the_best_threshold(demo: tuple[dict, Path]) -> None:
    scores = trained(demo, "dist_demo__0")
    best = select_best(scores, "fg__dice")
    assert best.value >= 0.90, best
    at_zero = scores.to_xarray().sel(parameters="threshold_0.00", criteria="fg__dice").values
    assert np.isfinite(at_zero).all() and (at_zero > 0).all()


def test_affinities_voi_at_the_best_bias(demo: tuple[dict, Path]) -> None:
    scores = trained(demo, "affs_demo__0")
    best = select_best(scores, "voi")
    assert best.value <= 0.30, best
