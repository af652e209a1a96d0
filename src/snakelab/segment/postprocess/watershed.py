"""Mutex watershed on affinities, small-segment removal and relabelling (spec §4, task ``affinities``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from snakelab.segment.postprocess.units import decode


def relabel_sequential(segmentation: np.ndarray) -> np.ndarray:
    """Ids 1..K (uint64) in C-order of each segment's first voxel; 0 stays 0."""
    segmentation = np.asarray(segmentation)
    flat = segmentation.ravel()
    ids, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    new_ids = np.zeros(len(ids), dtype=np.uint64)
    nonzero = order[ids[order] != 0]
    new_ids[nonzero] = np.arange(1, len(nonzero) + 1, dtype=np.uint64)
    return new_ids[inverse].reshape(segmentation.shape)


def remove_small_segments(segmentation: np.ndarray, min_segment_size: int) -> np.ndarray:
    """A copy of ``segmentation`` with every segment of fewer than ``min_segment_size`` voxels set to 0."""
    segmentation = np.asarray(segmentation)
    _, inverse, counts = np.unique(segmentation.ravel(), return_inverse=True, return_counts=True)
    keep = counts >= min_segment_size
    return (
        np.where(keep[inverse], segmentation.ravel(), 0)
        .reshape(segmentation.shape)
        .astype(segmentation.dtype)
    )


def mutex_watershed(
    affinities: np.ndarray,
    neighborhood: Sequence[Sequence[int]],
    bias: float,
    min_segment_size: int = 10,
    value_range: Sequence[float] = (0.0, 1.0),
) -> np.ndarray:
    """Instance segmentation (z, y, x) uint64 of ``affinities`` (len(neighborhood), z, y, x).

    ``mwatershed.agglom(affs − bias, offsets=neighborhood)`` on float64 with fixed strides (no
    randomisation): positive values attract, negative repel, edges processed by decreasing |value|; the
    value at v relates v and v + offset. Then segments of fewer than ``min_segment_size`` voxels → 0 and
    the rest relabelled 1..K in C-order of first occurrence. uint8 affinities are decoded through
    ``value_range`` first, so a bias is always in prediction units.
    """
    import mwatershed

    affinities = np.asarray(affinities)
    if affinities.ndim < 2 or affinities.shape[0] != len(neighborhood):
        raise ValueError(f"affinities {affinities.shape} need one channel per offset ({len(neighborhood)})")
    values = np.ascontiguousarray(decode(affinities, value_range) - float(bias), dtype=np.float64)
    offsets = [[int(o) for o in offset] for offset in neighborhood]
    segmentation = mwatershed.agglom(values, offsets=offsets, randomized_strides=False)
    return relabel_sequential(remove_small_segments(segmentation, min_segment_size))
