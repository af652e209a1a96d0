"""Class-balanced voxel weights (spec §4): each class gets the same total weight over the masked-in voxels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def class_balanced_weights(
    class_ids: np.ndarray,
    num_classes: int,
    mask: np.ndarray,
    weight_clip: Sequence[float] = (0.05, 0.95),
) -> np.ndarray:
    """Weights (same shape as ``class_ids``, float32) that balance ``num_classes`` classes over ``mask``.

    For class c, frac_c = (masked-in voxels of class c) / (masked-in voxels), clipped to ``weight_clip``;
    a voxel of class c gets ``mask · 1/(num_classes · frac_c)``. Without clipping the weights of every class
    sum to (masked-in voxels)/num_classes, so all weights sum to the masked-in voxel count. With two
    classes this is w₊ = 1/(2·frac), w₋ = 1/(2·(1 − frac)). ``class_ids`` are integers in
    [0, num_classes); ``mask`` is 0/1 (bool or numeric) of the same shape. No masked-in voxel → all zeros.
    """
    class_ids = np.asarray(class_ids)
    mask = np.asarray(mask)
    if class_ids.shape != mask.shape:
        raise ValueError(f"class ids {class_ids.shape} and mask {mask.shape} differ in shape")
    masked_in = mask > 0
    total = int(np.count_nonzero(masked_in))
    if total == 0:
        return np.zeros(class_ids.shape, dtype=np.float32)
    counts = np.bincount(class_ids[masked_in].ravel().astype(np.intp), minlength=num_classes)
    if counts.size > num_classes:
        raise ValueError(f"class ids must lie in [0, {num_classes}), found {counts.size - 1}")
    low, high = weight_clip
    fractions = np.clip(counts / total, low, high)
    class_weights = (1.0 / (num_classes * fractions)).astype(np.float32)
    ids = np.clip(class_ids, 0, num_classes - 1).astype(np.intp)
    return class_weights[ids] * mask.astype(np.float32)
