"""The ``one_hot`` task (spec §4): one channel per class, cross-entropy, argmax."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from snakelab.segment.evaluate.criteria import one_hot_criteria
from snakelab.segment.targets.one_hot import one_hot_targets
from snakelab.segment.tasks.base import TaskBase


class OneHotTask(TaskBase):
    """Classes from the ``classes`` array; softmax in eval, range (0, 1); accuracy and per-class dice."""

    activation = "softmax"
    value_range = (0.0, 1.0)
    default_criterion = "mean_dice"
    needs_classes = True

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)
        self.channels = list(config["classes"])
        self.balance = bool(config.get("class_balance", False))
        self.weight_clip = tuple(config.get("weight_clip", (0.05, 0.95)))
        self.criteria = one_hot_criteria(self.channels)

    def precompute(
        self, arrays: Mapping[str, np.ndarray], voxel_size: Sequence[int]
    ) -> dict[str, np.ndarray]:
        return {}

    def targets(
        self, sample: Mapping[str, np.ndarray], centre: tuple[slice, ...], voxel_size: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        classes = sample["classes"][centre]
        return one_hot_targets(
            classes, len(self.channels), sample["mask"][centre], self.balance, self.weight_clip
        )

    def loss(self, prediction: Any, target: Any, weight: Any) -> Any:
        from snakelab.segment.tasks.losses import weighted_cross_entropy

        return weighted_cross_entropy(prediction, target, weight)
