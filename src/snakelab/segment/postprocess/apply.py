"""Post-process a task's prediction with one parameter set (spec §4, §9, §11)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from snakelab.segment.postprocess.parameters import (
    DEFAULT_MIN_SEGMENT_SIZE,
    TASK_VALUE_RANGES,
    PostProcessorParameters,
)
from snakelab.segment.postprocess.semantic import argmax, threshold
from snakelab.segment.postprocess.watershed import mutex_watershed
from snakelab.segment.targets.affinities import DEFAULT_NEIGHBORHOOD


def postprocess(
    task: Mapping[str, Any],
    prediction: np.ndarray,
    parameters: PostProcessorParameters,
    value_range: Sequence[float] | None = None,
) -> np.ndarray:
    """The output of ``task`` (a config with ``type``) for ``prediction`` (C, z, y, x), float or uint8.

    affinities → instance ids (z, y, x) uint64 (mutex watershed with ``parameters.values["bias"]``,
    ``task["neighborhood"]``, ``task["min_segment_size"]``); distance → binary masks (C, z, y, x) uint8
    (``threshold``); one_hot → class ids (z, y, x) uint8. ``value_range`` defaults to the task's.
    """
    kind = str(task.get("type"))
    if kind not in TASK_VALUE_RANGES:
        raise ValueError(f"unknown task type {kind!r}: expected one of {sorted(TASK_VALUE_RANGES)}")
    value_range = TASK_VALUE_RANGES[kind] if value_range is None else value_range
    if kind == "affinities":
        neighborhood = task.get("neighborhood", DEFAULT_NEIGHBORHOOD)
        min_size = task.get("min_segment_size", DEFAULT_MIN_SEGMENT_SIZE)
        return mutex_watershed(
            prediction, neighborhood, parameters.values["bias"], int(min_size), value_range
        )
    if kind == "distance":
        return threshold(prediction, parameters.values["threshold"], value_range)
    return argmax(prediction)
