"""Metrics and task evaluators (spec §4; acceptance §15.1, §15.2; defects §12.1, §12.4)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from snakelab.segment.evaluate import (
    channel_slices,
    confusion_counts,
    default_criterion,
    dice,
    evaluate,
    f1_score,
    hausdorff,
    higher_is_better,
    higher_is_better_table,
    jaccard,
    joint_counts,
    precision,
    recall,
    task_criteria,
    voi,
)


def _row(*runs: tuple[int, int]) -> np.ndarray:
    return np.concatenate([np.full(n, v, np.uint64) for n, v in runs])


def _brute_force_conditional_entropy(a: np.ndarray, b: np.ndarray) -> float:
    """H(a | b) in bits from the definition, with Python loops over every (i, j) pair of ids."""
    n = a.size
    total = 0.0
    for i in set(a.tolist()):
        for j in set(b.tolist()):
            p_ij = np.sum((a == i) & (b == j)) / n
            p_j = np.sum(b == j) / n
            if p_ij > 0:
                total -= p_ij * math.log2(p_ij / p_j)
    return total


def test_voi_acceptance_values() -> None:
    gt = _row((8, 0), (8, 1))
    seg = _row((8, 0), (4, 1), (4, 2))
    assert voi(gt, gt) == {"voi_split": 0.0, "voi_merge": 0.0, "voi": 0.0}
    assert voi(np.where(gt == 0, 7, 3), gt) == {"voi_split": 0.0, "voi_merge": 0.0, "voi": 0.0}
    assert voi(seg, gt) == {"voi_split": 0.5, "voi_merge": 0.0, "voi": 0.25}
    assert voi(gt, seg) == {"voi_split": 0.0, "voi_merge": 0.5, "voi": 0.25}
    # background counts as a label
    assert voi(gt, np.zeros(16, np.uint64))["voi_split"] == 1.0
    singletons = np.concatenate([np.zeros(8, np.uint64), np.arange(1, 9, dtype=np.uint64)])
    assert voi(singletons, gt)["voi_split"] == pytest.approx(1.5, abs=1e-12)


def test_voi_matches_a_hand_joint_table_and_brute_force_entropy() -> None:
    gt = np.array([[0, 0, 1, 1], [0, 2, 2, 1]], np.uint64)
    seg = np.array([[5, 5, 5, 6], [5, 6, 6, 6]], np.uint64)
    # joint table [[3, 1, 0], [0, 2, 2]] (rows: segments 5, 6; columns: gt 0, 1, 2), zero cell left out
    seg_index, gt_index, counts = joint_counts(seg, gt)
    assert list(zip(seg_index.tolist(), gt_index.tolist(), counts.tolist(), strict=True)) == [
        (0, 0, 3),
        (0, 1, 1),
        (1, 1, 2),
        (1, 2, 2),
    ]
    # H(seg | gt): gt 0 (3/8) pure, gt 1 (3/8) split 1:2, gt 2 (2/8) pure
    split = 3 / 8 * -(1 / 3 * math.log2(1 / 3) + 2 / 3 * math.log2(2 / 3))
    # H(gt | seg): seg 5 (4/8) 3:1, seg 6 (4/8) 2:2
    merge = 4 / 8 * -(3 / 4 * math.log2(3 / 4) + 1 / 4 * math.log2(1 / 4)) + 4 / 8 * 1.0
    scores = voi(seg, gt)
    assert scores["voi_split"] == pytest.approx(split, abs=1e-12)
    assert scores["voi_merge"] == pytest.approx(merge, abs=1e-12)
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 5, 200), rng.integers(0, 4, 200)
    scores = voi(a, b)
    assert scores["voi_split"] == pytest.approx(_brute_force_conditional_entropy(a, b), abs=1e-12)
    assert scores["voi_merge"] == pytest.approx(_brute_force_conditional_entropy(b, a), abs=1e-12)


def test_binary_metrics_acceptance_cube() -> None:
    truth = np.zeros((6, 6, 6), bool)
    truth[:4, :4, :4] = True
    prediction = np.roll(truth, 1, axis=2)
    assert confusion_counts(prediction, truth) == (48, 16, 16)
    assert dice(prediction, truth) == 0.75
    assert jaccard(prediction, truth) == 0.6
    assert precision(prediction, truth) == 0.75
    assert recall(prediction, truth) == 0.75
    assert f1_score(prediction, truth) == pytest.approx(0.75)
    assert hausdorff(prediction, truth, (8, 8, 8)) == 8.0
    empty = np.zeros_like(truth)
    assert dice(empty, empty) == 1.0 and jaccard(empty, empty) == 1.0
    assert math.isnan(hausdorff(empty, empty, (8, 8, 8)))
    assert math.isnan(precision(empty, empty)) and math.isnan(recall(empty, empty))
    assert dice(empty, truth) == 0.0 and recall(empty, truth) == 0.0
    assert math.isnan(precision(empty, truth)) and math.isnan(f1_score(empty, truth))
    assert math.isnan(hausdorff(empty, truth, (8, 8, 8)))


def test_binary_metrics_by_hand_on_a_small_array() -> None:
    truth = np.array([1, 1, 1, 0, 0, 0, 1, 0], bool)
    prediction = np.array([1, 0, 1, 1, 0, 0, 0, 0], bool)
    # TP 2, FP 1, FN 2
    assert dice(prediction, truth) == 4 / 7
    assert jaccard(prediction, truth) == 2 / 5
    assert precision(prediction, truth) == 2 / 3
    assert recall(prediction, truth) == 1 / 2
    assert f1_score(prediction, truth) == pytest.approx(2 * (2 / 3) * (1 / 2) / (2 / 3 + 1 / 2))
    # disjoint non-empty masks: P = R = 0, f1 = 0/0
    assert math.isnan(f1_score(~truth & (np.arange(8) < 6), truth & (np.arange(8) < 6)))


def test_hausdorff_matches_brute_force_point_distances() -> None:
    rng = np.random.default_rng(2)
    voxel_size = np.array([3.0, 1.0, 2.0])
    a = rng.random((5, 7, 6)) < 0.1
    b = rng.random((5, 7, 6)) < 0.15
    pa = np.argwhere(a) * voxel_size
    pb = np.argwhere(b) * voxel_size
    distances = np.linalg.norm(pa[:, None] - pb[None], axis=-1)
    expected = max(distances.min(axis=1).max(), distances.min(axis=0).max())
    assert hausdorff(a, b, voxel_size) == pytest.approx(expected, rel=1e-12)


def test_criteria_names_and_directions() -> None:
    assert task_criteria({"type": "affinities"}) == ["voi_split", "voi_merge", "voi"]
    assert task_criteria({"type": "distance", "channels": ["fg", "mito"]})[:7] == [
        "fg__dice",
        "fg__jaccard",
        "fg__precision",
        "fg__recall",
        "fg__f1_score",
        "fg__voi",
        "fg__hausdorff",
    ]
    assert task_criteria({"type": "one_hot", "classes": ["bg", "cell"]}) == [
        "accuracy",
        "bg__dice",
        "cell__dice",
        "mean_dice",
    ]
    table = higher_is_better_table(
        ["fg__dice", "fg__voi", "fg__hausdorff", "accuracy", "voi_merge", "mean_dice"]
    )
    assert table == {
        "fg__dice": True,
        "fg__voi": False,
        "fg__hausdorff": False,
        "accuracy": True,
        "voi_merge": False,
        "mean_dice": True,
    }
    with pytest.raises(ValueError, match="unknown criterion"):
        higher_is_better("fg__auc")
    assert default_criterion({"type": "distance", "channels": ["mito", "fg"]}) == "mito__dice"
    assert default_criterion({"type": "affinities"}) == "voi"


def test_distance_evaluation_matches_axes_by_name() -> None:
    """§12.1: ground truth (z, y, x) without a channel axis vs an output with "c^" — the reference asserts
    (32, 32, 32) vs (1, 32, 32, 32); here the channel slice is compared, whatever the axis order."""
    truth = np.zeros((6, 6, 6), np.uint64)
    truth[:4, :4, :4] = 9
    mask = np.roll(truth > 0, 1, axis=2).astype(np.uint8)
    task = {"type": "distance", "channels": ["fg"]}
    scores = evaluate(task, mask[None], (8, 8, 8), labels=truth)
    assert list(scores) == task_criteria(task)
    expected = {
        "dice": 0.75,
        "jaccard": 0.6,
        "precision": 0.75,
        "recall": 0.75,
        "f1_score": 0.75,
        "hausdorff": 8.0,
    }
    for metric, value in expected.items():
        assert scores[f"fg__{metric}"] == pytest.approx(value)
    # binary voi of the 0/1 labelings: split = merge = H over the joint table [[136, 16], [16, 48]]
    joint = np.array([[136, 16], [16, 48]]) / 216
    h = -sum(p * math.log2(p / joint[:, j].sum()) for (i, j), p in np.ndenumerate(joint))
    assert scores["fg__voi"] == pytest.approx(h, abs=1e-12)
    # the same output with its channel axis last and spatial axes reversed
    moved = mask[None].transpose(3, 2, 1, 0)
    assert evaluate(task, moved, (8, 8, 8), labels=truth, output_axis_names=["x", "y", "z", "c^"]) == scores
    with pytest.raises(ValueError, match="do not match ground-truth axes"):
        evaluate(task, mask[None], (8, 8, 8), labels=truth, output_axis_names=["c^", "z", "y", "t"])
    with pytest.raises(ValueError, match="1 channels for 2 task channels"):
        evaluate(
            {"type": "distance", "channels": ["fg", "b"], "class_ids": {"b": 1}},
            mask[None],
            (8, 8, 8),
            labels=truth,
            classes=np.zeros_like(truth, np.uint8),
        )


def test_distance_evaluation_of_class_channels() -> None:
    classes = np.array([[0, 1, 1, 2, 2, 0]], np.uint8)
    labels = (classes > 0).astype(np.uint64)
    masks = np.array([[[0, 1, 1, 1, 1, 0]], [[0, 0, 0, 1, 0, 0]]], np.uint8)
    task = {"type": "distance", "channels": ["fg", "edge"], "class_ids": {"edge": [2]}}
    scores = evaluate(task, masks, (1, 1), labels=labels, classes=classes)
    assert scores["fg__dice"] == 1.0 and scores["fg__hausdorff"] == 0.0 and scores["fg__voi"] == 0.0
    assert scores["edge__precision"] == 1.0 and scores["edge__recall"] == 0.5
    assert scores["edge__dice"] == pytest.approx(2 / 3) and scores["edge__hausdorff"] == 1.0


def test_affinity_and_one_hot_evaluation() -> None:
    labels = np.zeros((1, 2, 8), np.uint64)
    labels[0, 1] = 1
    segmentation = np.zeros_like(labels)
    segmentation[0, 1, :4] = 1
    segmentation[0, 1, 4:] = 2
    assert evaluate({"type": "affinities"}, segmentation, (1, 1, 1), labels=labels) == {
        "voi_split": 0.5,
        "voi_merge": 0.0,
        "voi": 0.25,
    }
    classes = np.array([[[0, 1, 1, 2]]], np.uint8)
    predicted = np.array([[[0, 1, 2, 2]]], np.uint8)
    scores = evaluate({"type": "one_hot", "classes": ["bg", "a", "b"]}, predicted, (1, 1, 1), classes=classes)
    assert scores["accuracy"] == 0.75
    assert scores["bg__dice"] == 1.0 and scores["a__dice"] == pytest.approx(2 / 3)
    assert scores["b__dice"] == pytest.approx(2 / 3)
    assert scores["mean_dice"] == pytest.approx((1 + 4 / 3) / 3)


def test_channel_slices_defaults_and_errors() -> None:
    data = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    slices = channel_slices(data, (3, 4))
    assert len(slices) == 2 and slices[1].shape == (3, 4)
    np.testing.assert_array_equal(channel_slices(data[0], (3, 4))[0], data[0])
    np.testing.assert_array_equal(
        channel_slices(data.transpose(1, 2, 0), (3, 4), ["y", "x", "c^"])[1], data[1]
    )
    with pytest.raises(ValueError, match="cover different shapes"):
        channel_slices(data, (4, 3))


def test_voi_of_many_singletons_stays_sparse() -> None:
    # 10⁶ singleton segments against 10⁶ singleton objects: a dense joint table would hold 10¹² cells
    ids = np.arange(1_000_000, dtype=np.uint64)
    assert voi(ids, ids[::-1].copy()) == {"voi_split": 0.0, "voi_merge": 0.0, "voi": 0.0}
    halves = (ids >= 500_000).astype(np.uint64)
    assert voi(ids, halves)["voi_split"] == pytest.approx(np.log2(500_000), abs=1e-9)


@pytest.mark.parametrize("permutation", list(itertools.permutations(range(3))))
def test_voi_is_invariant_to_id_permutations(permutation) -> None:
    rng = np.random.default_rng(7)
    gt = rng.integers(0, 3, (4, 5, 6)).astype(np.uint64)
    seg = rng.integers(0, 3, (4, 5, 6)).astype(np.uint64)
    permuted = np.array(permutation, np.uint64)[seg]
    assert voi(permuted, gt) == pytest.approx(voi(seg, gt), abs=1e-12)
