"""Metrics and evaluators of the segment tasks (spec §4).

- :func:`~snakelab.segment.evaluate.tasks.evaluate` — one post-processed output + ground truth →
  ``{criterion: value}`` for any task (axes matched by name); ``evaluate_affinities``,
  ``evaluate_distance``, ``evaluate_one_hot`` per task;
- :mod:`~snakelab.segment.evaluate.binary` — dice, jaccard, precision, recall, f1_score, hausdorff;
- :func:`~snakelab.segment.evaluate.voi.voi` — voi_split, voi_merge, voi (bits, background counted);
- :mod:`~snakelab.segment.evaluate.criteria` — criterion names per task, ``higher_is_better``,
  the default ``select-best`` criterion.
"""

from __future__ import annotations

from snakelab.segment.evaluate.axes import channel_slices
from snakelab.segment.evaluate.binary import (
    confusion_counts,
    dice,
    f1_score,
    hausdorff,
    jaccard,
    precision,
    recall,
)
from snakelab.segment.evaluate.criteria import (
    affinity_criteria,
    default_criterion,
    distance_criteria,
    higher_is_better,
    higher_is_better_table,
    one_hot_criteria,
)
from snakelab.segment.evaluate.tasks import (
    binary_scores,
    evaluate,
    evaluate_affinities,
    evaluate_distance,
    evaluate_one_hot,
    task_criteria,
)
from snakelab.segment.evaluate.voi import joint_counts, voi

__all__ = [
    "affinity_criteria",
    "binary_scores",
    "channel_slices",
    "confusion_counts",
    "default_criterion",
    "dice",
    "distance_criteria",
    "evaluate",
    "evaluate_affinities",
    "evaluate_distance",
    "evaluate_one_hot",
    "f1_score",
    "hausdorff",
    "higher_is_better",
    "higher_is_better_table",
    "jaccard",
    "joint_counts",
    "one_hot_criteria",
    "precision",
    "recall",
    "task_criteria",
    "voi",
]
