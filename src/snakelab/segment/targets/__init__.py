"""Training targets and weights of the segment tasks (spec §4), in NumPy/SciPy.

Inputs have no channel axis: ``labels`` (z, y, x) uint64 instance ids (0 = background), ``classes``
(z, y, x) uint8 class ids, ``mask`` (z, y, x) 0/1 (1 = annotated); ``voxel_size`` in world units.
Every task function returns ``(target, weight)``, both (C, z, y, x) float32:

- :func:`~snakelab.segment.targets.affinities.affinity_targets` — one channel per neighbourhood offset;
- :func:`~snakelab.segment.targets.distance.distance_targets` — tanh(signed distance / scale_factor);
- :func:`~snakelab.segment.targets.one_hot.one_hot_targets` — one channel per class.
"""

from __future__ import annotations

from snakelab.segment.targets.affinities import affinities, affinity_targets, endpoint_mask
from snakelab.segment.targets.balance import class_balanced_weights
from snakelab.segment.targets.distance import (
    channel_masks,
    distance_targets,
    distance_weights,
    signed_distance,
    signed_distances,
)
from snakelab.segment.targets.one_hot import one_hot_targets

__all__ = [
    "affinities",
    "affinity_targets",
    "channel_masks",
    "class_balanced_weights",
    "distance_targets",
    "distance_weights",
    "endpoint_mask",
    "one_hot_targets",
    "signed_distance",
    "signed_distances",
]
