"""Runs and tasks of an experiment, known from config alone (spec §7, §11 "Tasks").

Standard library only: the Snakefile calls :func:`count_runs` / :func:`task_count` at parse time, so
the DAG is known without touching data. A run is (combo, fold, repeat), keyed
``c{combo:03d}-f{fold|n}-r{repeat:02d}``; runs are sorted by (fold, combo, repeat) and run r goes to
task ``r mod ⌈total / runs_per_task⌉`` (round robin balances short and long epoch counts).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from snakelab.tabular import config as tabular_config
from snakelab.tabular.hyperparams import combo_count

PLAN_FORMAT = "snakelab-tabular-plan-v1"


def run_key(combo_idx: int, fold_idx: int, repeat_idx: int) -> str:
    """``c003-f1-r00`` (``fn`` for no folds, fold_idx −1)."""
    fold = "n" if fold_idx < 0 else str(fold_idx)
    return f"c{combo_idx:03d}-f{fold}-r{repeat_idx:02d}"


def fold_name(fold_idx: int) -> str:
    """The prepare rule's ``fold`` wildcard: ``fold_<i>`` or ``no_fold``."""
    return "no_fold" if fold_idx < 0 else f"fold_{fold_idx}"


def experiment_pipeline(tabular: Mapping[str, Any], experiment: str) -> dict[str, Any]:
    """The pipeline section an experiment names."""
    spec = tabular_config.named(tabular, "experiments", experiment)
    return tabular_config.named(tabular, "pipelines", spec["pipeline"])


def fold_indices(pipeline: Mapping[str, Any]) -> list[int]:
    """``[0, …, k−1]`` with k folds, ``[-1]`` without."""
    count = tabular_config.fold_count(pipeline)
    return list(range(count)) if count >= 2 else [-1]


def run_coordinates(combos: int, folds: list[int], repeats: int) -> list[tuple[int, int, int]]:
    """(combo, fold, repeat) of every run, sorted by (fold, combo, repeat)."""
    return [(c, f, r) for f in folds for c in range(combos) for r in range(repeats)]


def count_runs(tabular: Mapping[str, Any], experiment: str) -> int:
    """combos × folds × repeats of an experiment, from config alone."""
    spec = tabular_config.named(tabular, "experiments", experiment)
    trainer = tabular_config.trainer(spec)
    combos = combo_count(
        (spec.get("architecture") or {}).get("hyperparameters"),
        trainer["search_count"],
        trainer["search_percent"],
    )
    return combos * len(fold_indices(experiment_pipeline(tabular, experiment))) * int(trainer["repeat_count"])


def task_count(tabular: Mapping[str, Any], experiment: str) -> int:
    """⌈runs / runs_per_task⌉ (at least 1)."""
    per_task = int(
        tabular_config.trainer(tabular_config.named(tabular, "experiments", experiment))["runs_per_task"]
    )
    return max(1, math.ceil(count_runs(tabular, experiment) / per_task))


def assign_tasks(n_runs: int, runs_per_task: int) -> list[int]:
    """Task of each run (in run order): ``r mod ⌈n / runs_per_task⌉``."""
    tasks = max(1, math.ceil(n_runs / runs_per_task))
    return [r % tasks for r in range(n_runs)]


def task_names(tabular: Mapping[str, Any], experiment: str) -> list[str]:
    """``task_000``, … of an experiment (the train rule's outputs)."""
    return [f"{t:03d}" for t in range(task_count(tabular, experiment))]
