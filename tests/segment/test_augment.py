"""§6 augments: identical transforms of raw and labels, the intensity and gamma formulas, elastic identity."""

from __future__ import annotations

import numpy as np

from snakelab.segment import augment


def sample(shape: tuple[int, int, int] = (6, 6, 6)) -> dict[str, np.ndarray]:
    raw = np.random.default_rng(0).random(shape, dtype=np.float32)
    return {"raw": raw, "labels": (raw * 1000).astype(np.uint64)}


def test_simple_moves_raw_and_labels_together_and_keeps_values() -> None:
    for seed in range(6):
        s = sample()
        augment.simple(s, np.random.default_rng(seed), (8, 8, 8))
        np.testing.assert_array_equal(s["labels"], (s["raw"] * 1000).astype(np.uint64))
        np.testing.assert_array_equal(np.sort(s["raw"], axis=None), np.sort(sample()["raw"], axis=None))


def test_simple_permutes_only_axes_of_equal_voxel_size_and_shape() -> None:
    s = sample((4, 6, 6))
    augment.simple(s, np.random.default_rng(3), (40, 8, 8))
    assert s["raw"].shape == (4, 6, 6)
    assert {tuple(np.sort(plane, axis=None)) for plane in s["raw"]} == {
        tuple(np.sort(plane, axis=None)) for plane in sample((4, 6, 6))["raw"]
    }


def test_intensity_and_gamma_formulas() -> None:
    s = sample()
    raw = s["raw"].copy()
    rng = np.random.default_rng(1)
    scale, shift = np.random.default_rng(1).uniform(0.5, 0.5), 0.0
    augment.intensity(s, rng, (0.5, 0.5), (0.0, 0.0))
    mu = raw.mean()
    np.testing.assert_allclose(s["raw"], np.clip(mu + scale * (raw - mu) + shift, 0, 1), rtol=1e-6)
    augment.gamma(s, rng, (2.0, 2.0))
    np.testing.assert_allclose(s["raw"], np.clip(mu + 0.5 * (raw - mu), 0, 1) ** 2, rtol=1e-5)


def test_elastic_without_displacement_or_rotation_is_the_centre_crop() -> None:
    s = sample((10, 10, 10))
    centre = {k: v[2:8, 2:8, 2:8].copy() for k, v in s.items()}
    augments = [
        {
            "type": "elastic",
            "displacement_sigma": [0, 0, 0],
            "rotation": [0, 0],
            "control_point_spacing": [2] * 3,
        }
    ]
    augment.apply(s, augments, np.random.default_rng(0), (8, 8, 8), (2, 2, 2))
    np.testing.assert_allclose(s["raw"], centre["raw"], atol=1e-6)
    np.testing.assert_array_equal(s["labels"], centre["labels"])


def test_elastic_source_margin_covers_displacement_and_rotation() -> None:
    assert augment.source_margin([{"type": "simple"}], (20, 20, 20)) == (0, 0, 0)
    margin = augment.source_margin(
        [{"type": "elastic", "displacement_sigma": [1, 2, 2], "rotation": [-0.5, 0.5]}], (20, 20, 20)
    )
    assert margin[0] == 4 and margin[1] == margin[2] > 7
