"""Variation of information between a segmentation and the ground truth (spec §4, the reference's definition).

Over all voxels, background (0) counted as a label like any other; with p_ij the joint frequency of
segment i and ground-truth object j, ``voi_split`` = H(seg | gt), ``voi_merge`` = H(gt | seg) (log base 2)
and ``voi`` = (voi_split + voi_merge) / 2.
"""

from __future__ import annotations

import numpy as np


def contingency(segmentation: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Joint counts (n_segments, n_truth) int64 of the ids of two labelings of one shape."""
    s = np.asarray(segmentation)
    g = np.asarray(truth)
    if s.shape != g.shape:
        raise ValueError(f"segmentation {s.shape} and ground truth {g.shape} differ in shape")
    _, seg_index = np.unique(s.ravel(), return_inverse=True)
    _, gt_index = np.unique(g.ravel(), return_inverse=True)
    n_gt = int(gt_index.max()) + 1 if gt_index.size else 0
    n_seg = int(seg_index.max()) + 1 if seg_index.size else 0
    joint = np.bincount(seg_index.astype(np.int64) * n_gt + gt_index, minlength=n_seg * n_gt)
    return joint.reshape(n_seg, n_gt)


def _conditional_entropy(joint: np.ndarray, axis: int) -> float:
    """H(X | Y) in bits, Y indexing ``axis`` of the joint probability table."""
    marginal = joint.sum(axis=axis, keepdims=True)
    nonzero = joint > 0
    ratio = np.divide(joint, np.broadcast_to(marginal, joint.shape), where=nonzero, out=np.ones_like(joint))
    return float(-np.sum(joint[nonzero] * np.log2(ratio[nonzero])))


def voi(segmentation: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """``{"voi_split", "voi_merge", "voi"}`` in bits; identical labelings (up to id permutation) give 0."""
    counts = contingency(segmentation, truth)
    total = counts.sum()
    if total == 0:
        return {"voi_split": 0.0, "voi_merge": 0.0, "voi": 0.0}
    joint = counts / total
    split = _conditional_entropy(joint, axis=0) + 0.0  # H(seg | gt): condition on the gt column
    merge = _conditional_entropy(joint, axis=1) + 0.0  # H(gt | seg): condition on the segment row
    return {"voi_split": split, "voi_merge": merge, "voi": (split + merge) / 2}
