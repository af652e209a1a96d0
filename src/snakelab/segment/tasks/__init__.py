"""The three tasks (spec §4): targets and weights, loss, eval activation and range, post-processing
parameter grid, criteria.

``get_task(config)`` returns the task object of a task config (its ``type``: ``affinities``,
``distance`` or ``one_hot``). Every task has ``channels`` (output channel names), ``activation``
(applied in eval mode), ``value_range``, ``precompute(arrays, voxel_size)`` (per-volume arrays that
move with a training sample, e.g. the signed distance), ``targets(sample, centre, voxel_size)``
→ (target, weight) (C, *output) float32, ``loss(prediction, target, weight)`` (torch, imported on
use), ``parameters()`` (post-processing grid, keys such as ``bias_0.10``), ``postprocess``,
``criteria``, ``evaluate`` and ``default_criterion``. Targets, post-processors and metrics are the
NumPy functions of :mod:`snakelab.segment.targets`, :mod:`snakelab.segment.postprocess` and
:mod:`snakelab.segment.evaluate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def get_task(config: Mapping[str, Any]) -> Any:
    """The task object of ``config`` (a task config with ``type``)."""
    kind = config["type"]
    if kind == "affinities":
        from snakelab.segment.tasks.affinities import AffinitiesTask

        return AffinitiesTask(config)
    if kind == "distance":
        from snakelab.segment.tasks.distance import DistanceTask

        return DistanceTask(config)
    if kind == "one_hot":
        from snakelab.segment.tasks.one_hot import OneHotTask

        return OneHotTask(config)
    raise ValueError(f"unknown task type {kind!r}: expected affinities, distance or one_hot")
