"""Post-processors of the segment tasks (spec §4): parameter grids, mutex watershed, threshold, argmax.

- :func:`~snakelab.segment.postprocess.parameters.parameter_grid` — the grid of a task config, each point a
  :class:`~snakelab.segment.postprocess.parameters.PostProcessorParameters` (key ``bias_0.10`` …);
- :func:`~snakelab.segment.postprocess.apply.postprocess` — one prediction, one parameter set → output;
- :func:`~snakelab.segment.postprocess.watershed.mutex_watershed`, ``threshold``, ``argmax`` directly.

mwatershed is imported only when the watershed runs.
"""

from __future__ import annotations

from snakelab.segment.postprocess.apply import postprocess
from snakelab.segment.postprocess.parameters import (
    TASK_VALUE_RANGES,
    PostProcessorParameters,
    argmax_grid,
    bias_grid,
    find_parameters,
    parameter_grid,
    parameter_key,
    threshold_grid,
    validate_thresholds,
)
from snakelab.segment.postprocess.semantic import argmax, threshold
from snakelab.segment.postprocess.units import decode, encode_uint8, stored_threshold
from snakelab.segment.postprocess.watershed import mutex_watershed, relabel_sequential, remove_small_segments

__all__ = [
    "TASK_VALUE_RANGES",
    "PostProcessorParameters",
    "argmax",
    "argmax_grid",
    "bias_grid",
    "decode",
    "encode_uint8",
    "find_parameters",
    "mutex_watershed",
    "parameter_grid",
    "parameter_key",
    "postprocess",
    "relabel_sequential",
    "remove_small_segments",
    "stored_threshold",
    "threshold",
    "threshold_grid",
    "validate_thresholds",
]
