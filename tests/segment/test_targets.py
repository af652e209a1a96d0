"""Affinity and one-hot targets, class-balanced weights (spec §4; acceptance §15.6)."""

from __future__ import annotations

import numpy as np
import pytest

from snakelab.segment.targets import (
    affinities,
    affinity_targets,
    class_balanced_weights,
    endpoint_mask,
    one_hot_targets,
)


def test_affinity_acceptance_rows() -> None:
    np.testing.assert_array_equal(affinities(np.array([1, 1, 2, 2, 0], np.uint64), [[1]]), [[1, 0, 1, 0, 0]])
    np.testing.assert_array_equal(affinities(np.array([0, 0, 1], np.uint64), [[1]]), [[0, 0, 0]])
    np.testing.assert_array_equal(
        affinities(np.array([0, 0, 1], np.uint64), [[1]], background_as_object=True), [[1, 0, 0]]
    )
    # a negative offset relates v and v − 1; the first voxel has no partner
    np.testing.assert_array_equal(affinities(np.array([1, 1, 2], np.uint64), [[-1]]), [[0, 1, 0]])
    # an offset as long as the axis has no partner anywhere
    np.testing.assert_array_equal(affinities(np.array([1, 1], np.uint64), [[2]]), [[0, 0]])


def test_affinities_of_a_two_label_volume() -> None:
    labels = np.zeros((2, 3, 4), dtype=np.uint64)
    labels[:, :, :2] = 1
    labels[:, :, 2:] = 2
    labels[1, 2, 3] = 0
    target, weight = affinity_targets(labels, [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 2]])
    assert target.shape == weight.shape == (4, 2, 3, 4) and target.dtype == weight.dtype == np.float32
    # z: pairs (0,y,x)-(1,y,x): 12 pairs, 11 same (one partner is background); z = 1 has no partner
    assert target[0, 0].sum() == 11 and target[0, 1].sum() == 0 and target[0, 0, 2, 3] == 0
    # y: pairs along y in each z: 2·2·4 = 16, minus the one touching background (1,1,3)-(1,2,3)
    assert target[1].sum() == 15
    # x offset 1: per row 3 pairs, the middle pair 1|2 differs → 2 per row, 6 rows, minus (1,2,2)-(1,2,3)
    assert target[2].sum() == 11
    np.testing.assert_array_equal(target[2, 0, 0], [1, 0, 1, 0])
    # x offset 2: pairs (0,2) and (1,3) cross the label border → all 0
    assert target[3].sum() == 0
    # weights: masked-in = pairs inside the volume; balanced per channel
    n_pairs = 12
    frac = 11 / n_pairs
    np.testing.assert_allclose(weight[0, 0][target[0, 0] == 1], 1 / (2 * frac), rtol=1e-6)
    np.testing.assert_allclose(weight[0, 0, 2, 3], 1 / (2 * (1 - frac)), rtol=1e-6)
    np.testing.assert_array_equal(weight[0, 1], 0)
    # channel 3 has no positives: frac 0 → clipped to 0.05, negatives weigh 1/(2·0.95)
    np.testing.assert_allclose(weight[3][:, :, :2], 1 / (2 * 0.95), rtol=1e-6)
    np.testing.assert_array_equal(weight[3][:, :, 2:], 0)


def test_class_balanced_weights_sum_rule_and_clip() -> None:
    rng = np.random.default_rng(3)
    ids = (rng.random((6, 7, 8)) < 0.3).astype(np.intp)
    mask = rng.random((6, 7, 8)) < 0.8
    weight = class_balanced_weights(ids, 2, mask)
    n = mask.sum()
    # each class sums to n/2 (unclipped), so the total is the masked-in count
    assert weight[(ids == 1) & mask].sum() == pytest.approx(n / 2, rel=1e-5)
    assert weight[(ids == 0) & mask].sum() == pytest.approx(n / 2, rel=1e-5)
    assert weight.sum() == pytest.approx(n, rel=1e-5)
    np.testing.assert_array_equal(weight[~mask], 0)
    # 1 positive of 100: frac 0.01 → 0.05, w₊ = 1/(2·0.05) = 10, w₋ = 1/(2·0.95)
    ids = np.zeros(100, np.intp)
    ids[7] = 1
    weight = class_balanced_weights(ids, 2, np.ones(100))
    assert weight[7] == pytest.approx(10.0)
    assert weight[0] == pytest.approx(1 / 1.9)
    assert class_balanced_weights(ids, 2, np.zeros(100)).sum() == 0


def test_affinity_weights_use_the_mask_of_both_endpoints() -> None:
    labels = np.ones((1, 1, 6), np.uint64)
    mask = np.ones((1, 1, 6), np.uint8)
    mask[0, 0, 3] = 0
    np.testing.assert_array_equal(endpoint_mask(mask, [[0, 0, 1]])[0, 0, 0], [1, 1, 0, 0, 1, 0])
    target, weight = affinity_targets(labels, [[0, 0, 1]], mask=mask)
    np.testing.assert_array_equal(target[0, 0, 0], [1, 1, 1, 1, 1, 0])
    # three masked-in pairs, all positive: frac 1 → 0.95, w₊ = 1/1.9
    np.testing.assert_allclose(weight[0, 0, 0], np.array([1, 1, 0, 0, 1, 0]) / 1.9, rtol=1e-6)


def test_one_hot_targets_and_balance() -> None:
    classes = np.array([[0, 1, 2, 2], [2, 2, 2, 2]], np.uint8)
    target, weight = one_hot_targets(classes, 3)
    assert target.shape == weight.shape == (3, 2, 4)
    np.testing.assert_array_equal(target.argmax(axis=0), classes)
    np.testing.assert_array_equal(target.sum(axis=0), 1)
    np.testing.assert_array_equal(weight, 1)
    target, weight = one_hot_targets(classes, 3, balance=True, weight_clip=(0.0, 1.0))
    # fractions 1/8, 1/8, 6/8 → weights 8/3, 8/3, 8/18; per voxel the weight of its own class
    per_voxel = (weight * target).sum(axis=0)
    np.testing.assert_allclose(per_voxel, np.where(classes == 2, 8 / 18, 8 / 3), rtol=1e-6)
    assert per_voxel.sum() == pytest.approx(8.0)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        one_hot_targets(classes, 2)
