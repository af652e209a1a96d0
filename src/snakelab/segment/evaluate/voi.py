"""Variation of information between a segmentation and the ground truth (spec §4, the reference's definition).

Over all voxels, background (0) counted as a label like any other; with p_ij the joint frequency of
segment i and ground-truth object j, ``voi_split`` = H(seg | gt), ``voi_merge`` = H(gt | seg) (log base 2)
and ``voi`` = (voi_split + voi_merge) / 2. The joint table is kept sparse (only pairs that occur), so
many small segments cost no more memory than the volume.
"""

from __future__ import annotations

import numpy as np


def joint_counts(segmentation: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The non-zero cells of the contingency table of two labelings of one shape.

    Returns ``(segment_index, truth_index, counts)``: for every (segment, ground-truth id) pair that occurs,
    the index of the segment among the sorted segment ids, the index of the ground-truth id among the sorted
    ground-truth ids, and its voxel count (int64); pairs sorted by (segment, ground truth).
    """
    s = np.asarray(segmentation)
    g = np.asarray(truth)
    if s.shape != g.shape:
        raise ValueError(f"segmentation {s.shape} and ground truth {g.shape} differ in shape")
    _, seg_index = np.unique(s.ravel(), return_inverse=True)
    gt_ids, gt_index = np.unique(g.ravel(), return_inverse=True)
    pairs, counts = np.unique(seg_index.astype(np.int64) * len(gt_ids) + gt_index, return_counts=True)
    return pairs // max(len(gt_ids), 1), pairs % max(len(gt_ids), 1), counts.astype(np.int64)


def _conditional_entropy(counts: np.ndarray, given: np.ndarray, total: int) -> float:
    """H(X | Y) in bits from the joint counts of the (x, y) pairs and the Y index of each pair."""
    marginal = np.bincount(given, weights=counts)[given]
    p = counts / total
    return float(-np.sum(p * np.log2(counts / marginal))) + 0.0


def voi(segmentation: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """``{"voi_split", "voi_merge", "voi"}`` in bits; identical labelings (up to id permutation) give 0."""
    seg_index, gt_index, counts = joint_counts(segmentation, truth)
    total = int(counts.sum())
    if total == 0:
        return {"voi_split": 0.0, "voi_merge": 0.0, "voi": 0.0}
    split = _conditional_entropy(counts, gt_index, total)  # H(seg | gt)
    merge = _conditional_entropy(counts, seg_index, total)  # H(gt | seg)
    return {"voi_split": split, "voi_merge": merge, "voi": (split + merge) / 2}
