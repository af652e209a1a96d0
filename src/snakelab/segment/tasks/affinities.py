"""The ``affinities`` task (spec §4): one channel per neighbourhood offset, BCE, mutex watershed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from snakelab.segment.evaluate.criteria import affinity_criteria
from snakelab.segment.targets.affinities import affinities, endpoint_mask
from snakelab.segment.targets.balance import class_balanced_weights
from snakelab.segment.tasks.base import TaskBase


class AffinitiesTask(TaskBase):
    """Affinities of ``neighborhood`` offsets; sigmoid in eval, range (0, 1); criteria voi_split/merge/voi."""

    activation = "sigmoid"
    value_range = (0.0, 1.0)
    default_criterion = "voi"
    needs_classes = False

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)
        self.neighborhood = [
            [int(o) for o in off] for off in config.get("neighborhood") or [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
        ]
        self.background_as_object = bool(config.get("background_as_object", False))
        self.weight_clip = tuple(config.get("weight_clip", (0.05, 0.95)))
        self.channels = [f"aff{i}" for i in range(len(self.neighborhood))]
        self.criteria = affinity_criteria()

    def precompute(
        self, arrays: Mapping[str, np.ndarray], voxel_size: Sequence[int]
    ) -> dict[str, np.ndarray]:
        """Nothing: affinities are cheap and computed per sample after augmentation."""
        return {}

    def targets(
        self, sample: Mapping[str, np.ndarray], centre: tuple[slice, ...], voxel_size: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Target and class-balanced weight (C, *output) from the sample window's labels and mask."""
        target = affinities(sample["labels"], self.neighborhood, self.background_as_object)[
            (slice(None), *centre)
        ]
        endpoints = endpoint_mask(sample["mask"], self.neighborhood)[(slice(None), *centre)]
        weight = np.stack(
            [
                class_balanced_weights(t.astype(np.intp), 2, e, self.weight_clip)
                for t, e in zip(target, endpoints, strict=True)
            ]
        )
        return np.ascontiguousarray(target), weight

    def loss(self, prediction: Any, target: Any, weight: Any) -> Any:
        from snakelab.segment.tasks.losses import weighted_bce_with_logits

        return weighted_bce_with_logits(prediction, target, weight)
