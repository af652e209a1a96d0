"""Binary segmentation metrics (spec §4): dice, jaccard, precision, recall, f1_score, hausdorff.

P = predicted mask, G = ground-truth mask (bool arrays of one shape); TP = |P∩G|, FP = |P∖G|,
FN = |G∖P|. Both masks empty → dice = jaccard = 1; any other 0/0 → NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import ndimage


def confusion_counts(prediction: np.ndarray, truth: np.ndarray) -> tuple[int, int, int]:
    """(TP, FP, FN) voxel counts of bool masks ``prediction`` and ``truth`` (same shape)."""
    p = np.asarray(prediction, dtype=bool)
    g = np.asarray(truth, dtype=bool)
    if p.shape != g.shape:
        raise ValueError(f"prediction {p.shape} and ground truth {g.shape} differ in shape")
    tp = int(np.count_nonzero(p & g))
    return tp, int(np.count_nonzero(p)) - tp, int(np.count_nonzero(g)) - tp


def _ratio(numerator: float, denominator: float) -> float:
    return math.nan if denominator == 0 else numerator / denominator


def dice(prediction: np.ndarray, truth: np.ndarray) -> float:
    """2TP / (2TP + FP + FN); 1 when both masks are empty."""
    tp, fp, fn = confusion_counts(prediction, truth)
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def jaccard(prediction: np.ndarray, truth: np.ndarray) -> float:
    """TP / (TP + FP + FN); 1 when both masks are empty."""
    tp, fp, fn = confusion_counts(prediction, truth)
    return 1.0 if tp + fp + fn == 0 else tp / (tp + fp + fn)


def precision(prediction: np.ndarray, truth: np.ndarray) -> float:
    """TP / (TP + FP); NaN when the prediction is empty."""
    tp, fp, _ = confusion_counts(prediction, truth)
    return _ratio(tp, tp + fp)


def recall(prediction: np.ndarray, truth: np.ndarray) -> float:
    """TP / (TP + FN); NaN when the ground truth is empty."""
    tp, _, fn = confusion_counts(prediction, truth)
    return _ratio(tp, tp + fn)


def f1_score(prediction: np.ndarray, truth: np.ndarray) -> float:
    """2PR / (P + R) of precision P and recall R; NaN if either is NaN or both are 0 (0/0)."""
    p, r = precision(prediction, truth), recall(prediction, truth)
    return _ratio(2 * p * r, p + r) if not (math.isnan(p) or math.isnan(r)) else math.nan


def hausdorff(prediction: np.ndarray, truth: np.ndarray, voxel_size: Sequence[float]) -> float:
    """Symmetric Hausdorff distance (world units) between the voxel centres of two masks; NaN if one is empty.

    max(max over p ∈ P of dist(p, G), max over g ∈ G of dist(g, P)), the distances from Euclidean distance
    transforms with ``voxel_size`` sampling.
    """
    p = np.asarray(prediction, dtype=bool)
    g = np.asarray(truth, dtype=bool)
    if p.shape != g.shape:
        raise ValueError(f"prediction {p.shape} and ground truth {g.shape} differ in shape")
    if not p.any() or not g.any():
        return math.nan
    sampling = [float(v) for v in voxel_size]
    to_truth = ndimage.distance_transform_edt(~g, sampling=sampling)
    to_prediction = ndimage.distance_transform_edt(~p, sampling=sampling)
    return float(max(to_truth[p].max(), to_prediction[g].max()))
