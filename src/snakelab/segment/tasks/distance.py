"""The ``distance`` task (spec §4): tanh of the signed boundary distance per channel, weighted MSE,
thresholds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from snakelab.segment.evaluate.criteria import distance_criteria
from snakelab.segment.targets.balance import class_balanced_weights
from snakelab.segment.targets.distance import channel_masks, mask_boundary_distance, signed_distances
from snakelab.segment.tasks.base import TaskBase


class DistanceTask(TaskBase):
    """Signed distances of ``channels`` (``fg`` or class names of ``class_ids``); no eval activation."""

    activation = None
    value_range = (-1.0, 1.0)

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)
        self.channels = list(config.get("channels") or ["fg"])
        self.class_ids = dict(config.get("class_ids") or {})
        self.scale_factor = float(config.get("scale_factor", 40.0))
        self.clip_distance = float(config.get("clip_distance", 80.0))
        self.mask_distances = bool(config.get("mask_distances", True))
        self.weight_clip = tuple(config.get("weight_clip", (0.05, 0.95)))
        self.default_criterion = f"{self.channels[0]}__dice"
        self.needs_classes = any(c != "fg" for c in self.channels)
        self.criteria = distance_criteria(self.channels)

    def _distances(
        self, arrays: Mapping[str, np.ndarray], voxel_size: Sequence[int]
    ) -> dict[str, np.ndarray]:
        masks = channel_masks(self.channels, arrays.get("labels"), arrays.get("classes"), self.class_ids)
        distance = signed_distances(masks, voxel_size)
        valid = np.broadcast_to(arrays["mask"] > 0, distance.shape)
        if self.mask_distances:
            boundary = mask_boundary_distance(arrays["mask"], arrays["mask"].shape, voxel_size)
            valid = valid & (np.minimum(np.abs(distance), self.clip_distance) < boundary)
        return {"distance": distance.astype(np.float32), "distance_valid": valid.astype(np.uint8)}

    def precompute(
        self, arrays: Mapping[str, np.ndarray], voxel_size: Sequence[int]
    ) -> dict[str, np.ndarray]:
        """Signed distances and their validity (mask_distances) over the whole volume, once: flips and
        axis permutations commute with the EDT on equal voxel sizes."""
        out = self._distances(arrays, voxel_size)
        return {f"{key}_{c}": array[c] for key, array in out.items() for c in range(len(self.channels))}

    def targets(
        self, sample: Mapping[str, np.ndarray], centre: tuple[slice, ...], voxel_size: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """tanh(d/scale_factor) and inside/outside-balanced weights (C, *output)."""
        if "distance_0" in sample:
            distance = np.stack([sample[f"distance_{c}"] for c in range(len(self.channels))])
            valid = np.stack([sample[f"distance_valid_{c}"] for c in range(len(self.channels))])
        else:
            out = self._distances(sample, voxel_size)
            distance, valid = out["distance"], out["distance_valid"]
        distance = distance[(slice(None), *centre)]
        valid = valid[(slice(None), *centre)]
        target = np.tanh(distance / np.float32(self.scale_factor)).astype(np.float32)
        weight = np.stack(
            [
                class_balanced_weights((d > 0).astype(np.intp), 2, v, self.weight_clip)
                for d, v in zip(distance, valid, strict=True)
            ]
        )
        return target, weight

    def loss(self, prediction: Any, target: Any, weight: Any) -> Any:
        from snakelab.segment.tasks.losses import weighted_mse

        return weighted_mse(prediction, target, weight)
