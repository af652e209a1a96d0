"""Best (iteration, parameter) selection and its file ``runs/{run}/best/{criterion}.json`` (spec §10).

The criterion defaults per task (affinities ``voi``, distance ``{first channel}__dice``, one_hot
``mean_dice``); the pair is chosen jointly over the validation grid by
:func:`snakelab.segment.stats.select_best` (dataset mean, NaN skipped, ties → lowest iteration then
first parameter). The one path function :func:`snakelab.segment.paths.best_path` serves writer and
readers; ``checkpoint`` is relative to the run directory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from snakelab.core.errors import InputError
from snakelab.segment import paths


def default_criterion(task: Mapping[str, Any]) -> str:
    """affinities ``voi``, distance ``{channels[0]}__dice``, one_hot ``mean_dice``."""
    from snakelab.segment.tasks import get_task

    return get_task(task).default_criterion


def select(run_dir: str | os.PathLike[str], criterion: str | None = None) -> dict[str, Any]:
    """The ``best/{criterion}.json`` document of the run in ``run_dir`` (from validation_scores.json)."""
    from snakelab.segment.configs import load_run
    from snakelab.segment.stats import ValidationScores, select_best
    from snakelab.segment.tasks import get_task

    run_dir = Path(run_dir)
    run = load_run(paths.run_yaml(run_dir))
    criterion = criterion or default_criterion(run["task"])
    scores_file = paths.scores_path(run_dir)
    scores = ValidationScores.read_json(scores_file)
    best = select_best(scores, criterion, scores_file)
    parameters = get_task(run["task"]).parameter(best.parameter)
    checkpoint = paths.checkpoint_path(run_dir, best.iteration)
    if not checkpoint.exists():
        raise InputError(checkpoint, "checkpoint", f"the best iteration {best.iteration} has no checkpoint")
    return {
        "run": run["run"],
        "criterion": criterion,
        "higher_is_better": best.higher_is_better,
        "iteration": best.iteration,
        "parameter": best.parameter,
        "parameter_values": dict(parameters.values),
        "value": best.value,
        "per_dataset": best.per_dataset,
        "checkpoint": str(checkpoint.relative_to(run_dir)),
    }


def write_best(
    run_dir: str | os.PathLike[str], criterion: str | None = None, output: str | None = None
) -> Path:
    """Select and write ``best/{criterion}.json`` (or ``output``); return its path."""
    from snakelab.core.atomic import write_text

    doc = select(run_dir, criterion)
    target = Path(output) if output else paths.best_path(run_dir, doc["criterion"])
    write_text(target, json.dumps(doc, indent=2, allow_nan=False) + "\n")
    return target


def read_best(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A ``best/{criterion}.json``; the checkpoint path made absolute (relative to the run directory)."""
    path = Path(path)
    doc = json.loads(path.read_text())
    for key in ("run", "iteration", "parameter", "checkpoint"):
        if key not in doc:
            raise InputError(path, key, "missing (expected a file written by `snakelab segment select-best`)")
    doc["checkpoint_path"] = str(path.parent.parent / doc["checkpoint"])
    return doc
