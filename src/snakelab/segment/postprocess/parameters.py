"""Post-processing parameter grids, their keys, and the value range of each task's predictions (spec §4).

A parameter set has a key used as a name everywhere (scores, files, ``select-best``): ``bias_0.10`` for a
mutex-watershed bias, ``threshold_-0.25`` for a distance threshold (two decimals, sign kept), ``argmax``
for the one-hot post-processor, and its values (``{"bias": 0.1}``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from snakelab.core.errors import InputError

#: range of each task's prediction after its eval activation (sigmoid, none (tanh target), softmax)
TASK_VALUE_RANGES: dict[str, tuple[float, float]] = {
    "affinities": (0.0, 1.0),
    "distance": (-1.0, 1.0),
    "one_hot": (0.0, 1.0),
}
DEFAULT_BIASES = (0.1, 0.25, 0.5, 0.75, 0.9)
DEFAULT_THRESHOLDS = (-0.5, -0.25, 0.0, 0.25, 0.5)
DEFAULT_MIN_SEGMENT_SIZE = 10
ARGMAX_KEY = "argmax"


@dataclass(frozen=True)
class PostProcessorParameters:
    """One grid point: its ``key`` (``bias_0.50``) and ``values`` (``{"bias": 0.5}``)."""

    key: str
    values: dict[str, float] = field(default_factory=dict)


def parameter_key(name: str, value: float) -> str:
    """``{name}_{value:.2f}``: ``bias_0.10``, ``threshold_-0.25``, ``threshold_0.00``."""
    return f"{name}_{float(value) + 0.0:.2f}"


def bias_grid(biases: Iterable[float] = DEFAULT_BIASES) -> list[PostProcessorParameters]:
    """Mutex-watershed grid: one ``bias_{b:.2f}`` per bias, in the given order."""
    return _grid("bias", biases)


def threshold_grid(thresholds: Iterable[float] = DEFAULT_THRESHOLDS) -> list[PostProcessorParameters]:
    """Threshold grid: one ``threshold_{t:.2f}`` per threshold, in the given order."""
    return _grid("threshold", thresholds)


def argmax_grid() -> list[PostProcessorParameters]:
    """The one-hot grid: the single parameter set ``argmax``."""
    return [PostProcessorParameters(ARGMAX_KEY, {})]


def _grid(name: str, values: Iterable[float]) -> list[PostProcessorParameters]:
    grid = [PostProcessorParameters(parameter_key(name, v), {name: float(v)}) for v in values]
    keys = [p.key for p in grid]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{name} values give duplicate keys {keys} (keys keep two decimals)")
    return grid


def parameter_grid(task: Mapping[str, Any]) -> list[PostProcessorParameters]:
    """The grid of a task config (``type`` affinities: ``biases``; distance: ``thresholds``; one_hot)."""
    kind = task.get("type")
    if kind == "affinities":
        return bias_grid(_floats(task.get("biases", DEFAULT_BIASES)))
    if kind == "distance":
        return threshold_grid(_floats(task.get("thresholds", DEFAULT_THRESHOLDS)))
    if kind == "one_hot":
        return argmax_grid()
    raise ValueError(f"unknown task type {kind!r}: expected one of {sorted(TASK_VALUE_RANGES)}")


def find_parameters(task: Mapping[str, Any], key: str) -> PostProcessorParameters:
    """The grid point of ``task`` named ``key``; InputError listing the valid keys otherwise."""
    grid = parameter_grid(task)
    for parameters in grid:
        if parameters.key == key:
            return parameters
    raise InputError(None, "parameter", f"expected one of {[p.key for p in grid]}, got {key!r}")


def validate_thresholds(
    thresholds: Iterable[float],
    value_range: Sequence[float],
    source: str | PathLike[str] | None = None,
    field_name: str = "thresholds",
) -> None:
    """Reject thresholds outside the open interval ``value_range`` (lo, hi) with :class:`InputError`.

    A threshold ≤ lo keeps every voxel and one ≥ hi none (the reference's 127 on (−1, 1) predictions
    gives empty masks), so both are configuration errors.
    """
    low, high = (float(v) for v in value_range)
    outside = [float(t) for t in thresholds if not low < float(t) < high]
    if outside:
        raise InputError(
            source,
            field_name,
            f"expected thresholds inside the prediction range ({low:g}, {high:g}), found {outside}",
        )


def _floats(values: object) -> list[float]:
    if not isinstance(values, Iterable):
        raise ValueError(f"expected a list of numbers, got {values!r}")
    return [float(v) for v in values]
