"""One-hot targets and weights (spec §4, task ``one_hot``).

The target has one channel per class: target[c] = 1 where ``classes`` = c. The weight has the same
channels, so that the weighted cross-entropy is ``mean(Σ_c weight[c] · target[c] · (−log softmax[c]))``:
per voxel that is w(v) · CE(v) with w(v) = the weight of the voxel's class times the mask.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from snakelab.segment.targets.balance import class_balanced_weights


def one_hot_targets(
    classes: np.ndarray,
    num_classes: int,
    mask: np.ndarray | None = None,
    balance: bool = False,
    weight_clip: Sequence[float] = (0.05, 0.95),
) -> tuple[np.ndarray, np.ndarray]:
    """Target and weight, both (num_classes, z, y, x) float32, of class ids ``classes`` (z, y, x).

    ``classes``: integer class ids in [0, num_classes) (ValueError otherwise). ``mask``: 0/1, default all
    ones. Without ``balance`` every channel of the weight is the mask; with it, class c's voxels weigh
    1/(num_classes · frac_c) (frac_c over masked-in voxels, clipped to ``weight_clip``), times the mask.
    """
    classes = np.asarray(classes)
    if classes.size and (classes.min() < 0 or classes.max() >= num_classes):
        raise ValueError(f"class ids must lie in [0, {num_classes}), found {classes.min()}..{classes.max()}")
    mask = np.ones(classes.shape, dtype=bool) if mask is None else np.asarray(mask)
    if mask.shape != classes.shape:
        raise ValueError(f"mask {mask.shape} and classes {classes.shape} differ in shape")
    ids = classes.astype(np.intp)
    target = (ids[None] == np.arange(num_classes).reshape((-1,) + (1,) * ids.ndim)).astype(np.float32)
    if balance:
        voxel_weight = class_balanced_weights(ids, num_classes, mask, weight_clip)
    else:
        voxel_weight = (mask > 0).astype(np.float32)
    weight = np.broadcast_to(voxel_weight, target.shape).copy()
    return target, weight
