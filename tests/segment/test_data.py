"""§2 synthetic spheres and §6 batches: placement rules, classes, sampled windows and their targets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from snakelab.segment.synthetic import Spheres, boundary_classes, make_spheres, place_spheres, rasterise


def test_spheres_are_deterministic_separated_and_numbered_in_placement_order() -> None:
    settings = Spheres(shape=(24, 40, 40), n_objects=12, seed=5)
    a, b = make_spheres(settings), make_spheres(settings)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    centres, radii = place_spheres(settings)
    assert len(radii) == 12 and ((radii >= 5) & (radii <= 9)).all()
    distance = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    gaps = distance - radii[:, None] - radii[None]
    assert gaps[~np.eye(len(radii), dtype=bool)].min() >= 2
    labels = a["labels"]
    assert labels.dtype == np.uint64 and a["raw"].dtype == np.uint8
    first = [
        int(labels[tuple(np.clip(np.round(c).astype(int), 0, np.array(labels.shape) - 1))]) for c in centres
    ]
    assert first == list(range(1, 13))


def test_raw_is_brighter_inside_objects() -> None:
    data = make_spheres(Spheres(shape=(24, 40, 40), n_objects=12, seed=1, noise=0.0))
    inside = data["raw"][data["classes"] == 1].mean()
    outside = data["raw"][data["labels"] == 0].mean()
    assert inside > 0.55 * 255 and outside < 0.3 * 255


def test_boundary_classes() -> None:
    labels = rasterise((1, 1, 7), np.array([[0.0, 0.0, 3.0]]), np.array([2.0]))
    assert labels[0, 0].tolist() == [0, 1, 1, 1, 1, 1, 0]
    assert boundary_classes(labels)[0, 0].tolist() == [0, 2, 1, 1, 1, 2, 0]


def test_sampler_windows_respect_the_mask_and_give_matching_targets(tiny_data: Path) -> None:
    from snakelab.segment.batches import BatchSampler, load_training_data
    from snakelab.segment.tasks import get_task

    data = load_training_data({"dataset": "tr", "path": str(tiny_data / "data" / "tr.zarr")})
    data.arrays["mask"][:, :, :20] = 0
    task = get_task({"type": "affinities", "neighborhood": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]})
    sampler = BatchSampler(
        task, [data], (20, 20, 20), (4, 4, 4), {"min_masked": 1.0}, np.random.default_rng(0)
    )
    raw, target, weight = sampler.batch(3)
    assert raw.shape == (3, 1, 20, 20, 20) and target.shape == weight.shape == (3, 3, 4, 4, 4)
    assert set(np.unique(target)) <= {0.0, 1.0} and (weight > 0).all()
    sampler = BatchSampler(
        task, [data], (20, 20, 20), (4, 4, 4), {"min_masked": 0.5}, np.random.default_rng(0)
    )
    data.arrays["mask"][:] = 0
    from snakelab.core.errors import InputError

    with pytest.raises(InputError, match="masked-in fraction"):
        sampler.batch(1)


def test_precomputed_distance_equals_the_per_window_one_without_mask_distances(tiny_data: Path) -> None:
    from snakelab.segment.batches import BatchSampler, load_training_data
    from snakelab.segment.tasks import get_task

    task = get_task({"type": "distance", "channels": ["fg"], "scale_factor": 40.0, "mask_distances": False})
    data = load_training_data({"dataset": "tr", "path": str(tiny_data / "data" / "tr.zarr")})
    sampler = BatchSampler(
        task, [data], (20, 20, 20), (4, 4, 4), {"min_masked": 0.0}, np.random.default_rng(0)
    )
    _, target, _ = sampler.sample()
    assert target.shape == (1, 4, 4, 4) and np.abs(target).max() < 1


def test_start_checkpoint_loads_matching_tensors_and_reinitialises_the_head(
    make_run: Callable[..., Path], tiny_section: dict
) -> None:
    import torch

    from snakelab.segment import paths
    from snakelab.segment.trainer import build_model, load_start
    from snakelab.segment.training import load_checkpoint, train_run

    run_dir = make_run("b__0")
    train_run(run_dir, threads=1)
    checkpoint = paths.checkpoint_path(run_dir, 6)
    from snakelab.segment.configs import load_run

    affs = load_run(make_run("a__0") / "run.yaml")
    model = build_model(affs)
    head_before = model.head.weight.detach().clone()
    skipped = load_start(model, checkpoint)
    assert skipped == ["head.weight", "head.bias"]
    saved = load_checkpoint(checkpoint)["model"]
    torch.testing.assert_close(model.unet.down[0][0].weight, saved["unet.down.0.0.weight"])
    torch.testing.assert_close(model.head.weight, head_before)


def test_snapshot_holds_the_batch(make_run: Callable[..., Path], tiny_section: dict) -> None:
    import zarr

    section = {**tiny_section, "trainers": {"t": {**tiny_section["trainers"]["t"], "snapshot_interval": 5}}}
    from snakelab.segment.training import train_run

    run_dir = make_run("b__0", section)
    train_run(run_dir, threads=1)
    group = zarr.open_group(str(run_dir / "snapshot.zarr" / "5"), mode="r")
    assert group["raw"].shape == (2, 1, 20, 20, 20) and group["target"].shape == (2, 1, 4, 4, 4)
    assert dict(group["target"].attrs)["offset"] == [64, 64, 64]
    assert sorted(p.name for p in (run_dir / "snapshot.zarr").iterdir()) == ["0", "5"]


def test_volumes_over_max_in_memory_mb_are_read_per_window_with_the_same_batches(tiny_data: Path) -> None:
    from snakelab.segment.batches import BatchSampler, load_training_data
    from snakelab.segment.tasks import get_task

    entry = {"dataset": "tr", "path": str(tiny_data / "data" / "tr.zarr")}
    task = get_task({"type": "affinities", "neighborhood": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]})
    batches = []
    for limit in (float("inf"), 0.01):
        data = load_training_data(entry, max_in_memory_mb=limit)
        assert data.lazy == (limit < 1)
        sampler = BatchSampler(task, [data], (20, 20, 20), (4, 4, 4), {}, np.random.default_rng(4))
        batches.append(sampler.batch(2))
    for a, b in zip(*batches, strict=True):
        np.testing.assert_array_equal(a, b)
