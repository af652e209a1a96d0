"""One evaluator per task: post-processed output + ground truth → ``{criterion: value}`` (spec §4).

Ground truth has no channel axis: ``labels`` (z, y, x) instance ids, ``classes`` (z, y, x) class ids.
Outputs are matched to it by axis names (:func:`~snakelab.segment.evaluate.axes.channel_slices`). The
criterion names are those of :mod:`snakelab.segment.evaluate.criteria`; every value is a float (NaN
where a metric is undefined). Errors propagate: a caller must not swallow them (defect §12.4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from snakelab.segment.evaluate.axes import channel_slices
from snakelab.segment.evaluate.binary import dice, f1_score, hausdorff, jaccard, precision, recall
from snakelab.segment.evaluate.criteria import (
    CHANNEL_SEPARATOR,
    affinity_criteria,
    distance_criteria,
    one_hot_criteria,
)
from snakelab.segment.evaluate.voi import voi
from snakelab.segment.targets.distance import FOREGROUND, channel_masks


def binary_scores(prediction: np.ndarray, truth: np.ndarray, voxel_size: Sequence[float]) -> dict[str, float]:
    """dice, jaccard, precision, recall, f1_score, voi (of the 0/1 labelings) and hausdorff of two masks."""
    p = np.asarray(prediction) > 0
    g = np.asarray(truth) > 0
    return {
        "dice": dice(p, g),
        "jaccard": jaccard(p, g),
        "precision": precision(p, g),
        "recall": recall(p, g),
        "f1_score": f1_score(p, g),
        "voi": voi(p, g)["voi"],
        "hausdorff": hausdorff(p, g, voxel_size),
    }


def evaluate_affinities(
    segmentation: np.ndarray,
    labels: np.ndarray,
    output_axis_names: Sequence[str] | None = None,
    labels_axis_names: Sequence[str] | None = None,
) -> dict[str, float]:
    """``voi_split``, ``voi_merge``, ``voi`` of an instance segmentation (z, y, x) against ``labels``."""
    labels = np.asarray(labels)
    (aligned,) = channel_slices(segmentation, labels.shape, output_axis_names, labels_axis_names)
    scores = voi(aligned, labels)
    return {name: scores[name] for name in affinity_criteria()}


def evaluate_distance(
    masks: np.ndarray,
    channels: Sequence[str],
    voxel_size: Sequence[float],
    labels: np.ndarray | None = None,
    classes: np.ndarray | None = None,
    class_ids: Mapping[str, int | Sequence[int]] | None = None,
    output_axis_names: Sequence[str] | None = None,
    truth_axis_names: Sequence[str] | None = None,
) -> dict[str, float]:
    """``{channel}__{metric}`` of thresholded masks (C, z, y, x) against the per-channel ground truth.

    Channel c of the output is compared with the object mask of ``channels[c]`` (``fg`` = labels > 0,
    other names = classes ∈ class_ids[name]), derived from ground truth without a channel axis.
    """
    reference = labels if labels is not None else classes
    if reference is None:
        raise ValueError("evaluate_distance needs labels or classes")
    truth_shape = np.asarray(reference).shape
    slices = channel_slices(masks, truth_shape, output_axis_names, truth_axis_names)
    if len(slices) != len(channels):
        raise ValueError(
            f"output has {len(slices)} channels for {len(channels)} task channels {list(channels)}"
        )
    truths = channel_masks(channels, labels, classes, class_ids)
    scores: dict[str, float] = {}
    for name, prediction, truth in zip(channels, slices, truths, strict=True):
        for metric, value in binary_scores(prediction, truth, voxel_size).items():
            scores[f"{name}{CHANNEL_SEPARATOR}{metric}"] = value
    return scores


def evaluate_one_hot(
    class_ids: np.ndarray,
    classes: np.ndarray,
    class_names: Sequence[str],
    output_axis_names: Sequence[str] | None = None,
    classes_axis_names: Sequence[str] | None = None,
) -> dict[str, float]:
    """``accuracy``, ``{class}__dice`` per class (class c = ``class_names[c]``) and ``mean_dice``."""
    classes = np.asarray(classes)
    (aligned,) = channel_slices(class_ids, classes.shape, output_axis_names, classes_axis_names)
    scores = {"accuracy": float(np.mean(aligned == classes)) if classes.size else float("nan")}
    dices = [dice(aligned == c, classes == c) for c in range(len(class_names))]
    scores.update(
        {f"{name}{CHANNEL_SEPARATOR}dice": value for name, value in zip(class_names, dices, strict=True)}
    )
    scores["mean_dice"] = float(np.mean(dices))
    return scores


def evaluate(
    task: Mapping[str, Any],
    output: np.ndarray,
    voxel_size: Sequence[float],
    labels: np.ndarray | None = None,
    classes: np.ndarray | None = None,
    output_axis_names: Sequence[str] | None = None,
    truth_axis_names: Sequence[str] | None = None,
) -> dict[str, float]:
    """Every criterion of ``task`` (a config with ``type``) for one post-processed ``output``.

    affinities: ``output`` = instance ids (z, y, x), needs ``labels``; distance: binary masks
    (C, z, y, x), channels ``task["channels"]`` (default ["fg"]) with ``task["class_ids"]``; one_hot:
    class ids (z, y, x) against ``classes``, names ``task["classes"]``. ``voxel_size`` in world units.
    """
    kind = task.get("type")
    if kind == "affinities":
        if labels is None:
            raise ValueError("the affinities evaluator needs labels")
        return evaluate_affinities(output, labels, output_axis_names, truth_axis_names)
    if kind == "distance":
        return evaluate_distance(
            output,
            task.get("channels", [FOREGROUND]),
            voxel_size,
            labels,
            classes,
            task.get("class_ids", {}),
            output_axis_names,
            truth_axis_names,
        )
    if kind == "one_hot":
        if classes is None:
            raise ValueError("the one_hot evaluator needs classes")
        return evaluate_one_hot(output, classes, task["classes"], output_axis_names, truth_axis_names)
    raise ValueError(f"unknown task type {kind!r}: expected affinities, distance or one_hot")


def task_criteria(task: Mapping[str, Any]) -> list[str]:
    """The criterion names ``evaluate`` returns for ``task``, in order."""
    kind = task.get("type")
    if kind == "affinities":
        return affinity_criteria()
    if kind == "distance":
        return distance_criteria(task.get("channels", [FOREGROUND]))
    if kind == "one_hot":
        return one_hot_criteria(task["classes"])
    raise ValueError(f"unknown task type {kind!r}: expected affinities, distance or one_hot")
