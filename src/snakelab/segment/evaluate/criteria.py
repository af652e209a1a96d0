"""Criterion names per task and whether a higher value is better (spec §4).

Names: affinities ``voi_split, voi_merge, voi``; distance ``{channel}__{metric}`` per channel with metric
in :data:`BINARY_CRITERIA`; one_hot ``accuracy``, ``{class}__dice`` per class and ``mean_dice``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

AFFINITY_CRITERIA = ("voi_split", "voi_merge", "voi")
BINARY_CRITERIA = ("dice", "jaccard", "precision", "recall", "f1_score", "voi", "hausdorff")
HIGHER_IS_BETTER = {
    "dice": True,
    "jaccard": True,
    "precision": True,
    "recall": True,
    "f1_score": True,
    "accuracy": True,
    "mean_dice": True,
    "voi": False,
    "voi_split": False,
    "voi_merge": False,
    "hausdorff": False,
}
CHANNEL_SEPARATOR = "__"


def affinity_criteria() -> list[str]:
    """Criteria of the affinities task: ``voi_split``, ``voi_merge``, ``voi``."""
    return list(AFFINITY_CRITERIA)


def distance_criteria(channels: Sequence[str]) -> list[str]:
    """Criteria of the distance task: ``{channel}__{metric}`` for each channel, metrics in spec order."""
    return [f"{channel}{CHANNEL_SEPARATOR}{metric}" for channel in channels for metric in BINARY_CRITERIA]


def one_hot_criteria(classes: Sequence[str]) -> list[str]:
    """Criteria of the one_hot task: ``accuracy``, ``{class}__dice`` per class, ``mean_dice``."""
    return ["accuracy", *(f"{name}{CHANNEL_SEPARATOR}dice" for name in classes), "mean_dice"]


def default_criterion(task: Mapping[str, Any]) -> str:
    """The criterion ``select-best`` uses by default (spec §10): affinities ``voi``, distance
    ``{first channel}__dice``, one_hot ``mean_dice``."""
    kind = task.get("type")
    if kind == "affinities":
        return "voi"
    if kind == "distance":
        return f"{next(iter(task.get('channels', ['fg'])))}{CHANNEL_SEPARATOR}dice"
    if kind == "one_hot":
        return "mean_dice"
    raise ValueError(f"unknown task type {kind!r}: expected affinities, distance or one_hot")


def higher_is_better(criterion: str) -> bool:
    """True for dice, jaccard, precision, recall, f1_score, accuracy and any ``*dice``; False for ``voi*``
    and hausdorff. A ``{channel}__`` or ``{class}__`` prefix is ignored; other names raise ValueError."""
    metric = criterion.rsplit(CHANNEL_SEPARATOR, 1)[-1]
    if metric in HIGHER_IS_BETTER:
        return HIGHER_IS_BETTER[metric]
    if metric.endswith("dice"):
        return True
    if metric.startswith("voi"):
        return False
    raise ValueError(f"unknown criterion {criterion!r}: expected one of {sorted(HIGHER_IS_BETTER)}")


def higher_is_better_table(criteria: Sequence[str]) -> dict[str, bool]:
    """``{criterion: higher_is_better(criterion)}`` for every name in ``criteria``."""
    return {criterion: higher_is_better(criterion) for criterion in criteria}
