"""Signed-distance targets and weights (spec §4; acceptance §15.6)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from snakelab.segment.targets import channel_masks, distance_targets, distance_weights, signed_distance
from snakelab.segment.targets.distance import mask_boundary_distance


def _upsampled_reference(inside: np.ndarray, voxel_size) -> np.ndarray:
    """The spec's definition verbatim: boundaries on the full 2× grid, EDT with half-voxel sampling."""
    shape = tuple(2 * n - 1 for n in inside.shape)
    boundaries = np.zeros(shape, dtype=bool)
    for axis in range(inside.ndim):
        low = [slice(None)] * inside.ndim
        high = [slice(None)] * inside.ndim
        low[axis], high[axis] = slice(0, -1), slice(1, None)
        where = [slice(0, None, 2)] * inside.ndim
        where[axis] = slice(1, None, 2)
        boundaries[tuple(where)] = inside[tuple(high)] != inside[tuple(low)]
    distance = ndimage.distance_transform_edt(~boundaries, sampling=[v / 2 for v in voxel_size])
    distance = distance[tuple(slice(0, None, 2) for _ in shape)]
    return np.where(inside, distance, -distance)


def test_acceptance_row_and_tanh_target() -> None:
    labels = np.array([0, 0, 1, 1, 1, 1, 0, 0], np.uint64)
    expected = np.array([-1.5, -0.5, 0.5, 1.5, 1.5, 0.5, -0.5, -1.5])
    np.testing.assert_array_equal(signed_distance(labels > 0, (1,)), expected)
    np.testing.assert_array_equal(signed_distance(labels > 0, (4,)), 4 * expected)
    target, weight = distance_targets(["fg"], (1,), labels=labels, scale_factor=2.0, mask_distances=False)
    assert target.shape == weight.shape == (1, 8) and target.dtype == np.float32
    np.testing.assert_allclose(target[0], np.tanh(expected / 2.0), rtol=1e-6)
    # half inside, half outside: balanced weights are all 1
    np.testing.assert_allclose(weight[0], 1.0)


def test_per_axis_computation_equals_the_upsampled_definition() -> None:
    rng = np.random.default_rng(0)
    inside = ndimage.gaussian_filter(rng.random((13, 17, 11)), 1.5) > 0.5
    for voxel_size in [(1, 1, 1), (8, 4, 4), (3, 2, 5)]:
        np.testing.assert_allclose(
            signed_distance(inside, voxel_size), _upsampled_reference(inside, voxel_size), rtol=1e-6
        )


def test_sphere_matches_its_analytic_distance() -> None:
    voxel_size = np.array([2.0, 1.0, 1.0])
    radius = 9.0
    grid = np.indices((16, 30, 30)).transpose(1, 2, 3, 0) * voxel_size
    centre = np.array([15.0, 14.5, 15.2])
    analytic = radius - np.linalg.norm(grid - centre, axis=-1)
    d = signed_distance(analytic > 0, voxel_size)
    # the voxelised surface lies within half a voxel diagonal of the sphere
    error = np.abs(d - analytic)
    assert error.max() <= 0.5 * np.linalg.norm(voxel_size)
    assert error.mean() < 0.35
    assert np.all(np.sign(d) == np.where(analytic > 0, 1, -1))


def test_no_boundary_gives_half_the_smallest_extent() -> None:
    d = signed_distance(np.ones((4, 6, 10), bool), (8, 2, 1))
    np.testing.assert_array_equal(d, min(32, 12, 10) / 2)
    d = signed_distance(np.zeros((4, 6, 10), bool), (8, 2, 1))
    np.testing.assert_array_equal(d, -5.0)


def test_mask_distances_rule_by_hand() -> None:
    labels = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 0], np.uint64)
    # d = 2·(5.5 − i) inside, boundary distance = 2·min(i + 1, 10 − i)
    d = signed_distance(labels > 0, (2,))
    np.testing.assert_array_equal(d, [11, 9, 7, 5, 3, 1, -1, -3, -5, -7])
    np.testing.assert_array_equal(mask_boundary_distance(None, (10,), (2,)), [2, 4, 6, 8, 10, 10, 8, 6, 4, 2])
    weight = distance_weights(d[None], (2,), clip_distance=100.0)[0]
    # masked in: i = 3..7 (3 inside, 2 outside) → w₊ = 1/(2·0.6), w₋ = 1/(2·0.4)
    np.testing.assert_allclose(weight, [0, 0, 0, 1 / 1.2, 1 / 1.2, 1 / 1.2, 1.25, 1.25, 0, 0], rtol=1e-6)
    weight = distance_weights(d[None], (2,), clip_distance=2.0)[0]
    # clip 2: only the two edge voxels (distance 2 ≥ 2) drop; 5 inside, 3 outside
    np.testing.assert_allclose(weight, [0, 0.8, 0.8, 0.8, 0.8, 0.8, 4 / 3, 4 / 3, 4 / 3, 0], rtol=1e-6)
    weight = distance_weights(d[None], (2,), mask_distances=False)[0]
    np.testing.assert_allclose(weight, np.where(d > 0, 1 / 1.2, 1 / 0.8), rtol=1e-6)


def test_mask_boundary_distance_with_a_mask() -> None:
    mask = np.ones((5, 6, 7), np.uint8)
    voxel_size = (3, 2, 1)
    closed_form = mask_boundary_distance(None, mask.shape, voxel_size)
    padded = np.pad(mask, 1)
    brute = ndimage.distance_transform_edt(padded, sampling=voxel_size)[1:-1, 1:-1, 1:-1]
    np.testing.assert_allclose(closed_form, brute)
    mask[2, 3, 3] = 0
    distance = mask_boundary_distance(mask, mask.shape, voxel_size)
    assert distance[2, 3, 3] == 0 and distance[2, 3, 4] == 1 and distance[2, 2, 3] == 2
    labels = np.zeros(mask.shape, np.uint64)
    labels[1:4, 1:5, 1:6] = 3
    _, weight = distance_targets(["fg"], voxel_size, labels=labels, mask=mask, clip_distance=1.0)
    # with clip 1 every masked-in voxel keeps weight unless it is within 1 of a masked-out voxel or the edge
    assert weight[0, 2, 3, 3] == 0 and weight[0, 2, 3, 4] == 0 and weight[0, 2, 2, 3] > 0


def test_class_channels() -> None:
    classes = np.array([[0, 1, 2, 2, 1, 0]], np.uint8)
    labels = np.array([[0, 5, 5, 6, 6, 0]], np.uint64)
    masks = channel_masks(["fg", "boundary", "any"], labels, classes, {"boundary": 2, "any": [1, 2]})
    np.testing.assert_array_equal(masks[0, 0], [0, 1, 1, 1, 1, 0])
    np.testing.assert_array_equal(masks[1, 0], [0, 0, 1, 1, 0, 0])
    np.testing.assert_array_equal(masks[2, 0], masks[0, 0])
    target, _ = distance_targets(
        ["boundary"], (1, 1), classes=classes, class_ids={"boundary": [2]}, scale_factor=1
    )
    np.testing.assert_allclose(target[0, 0], np.tanh([-1.5, -0.5, 0.5, 0.5, -0.5, -1.5]), rtol=1e-6)
    with pytest.raises(ValueError, match="neither 'fg'"):
        channel_masks(["mito"], labels, classes, {})
