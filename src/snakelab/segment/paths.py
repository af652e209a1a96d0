"""Every file path of the segment outputs, built in one place for writers and readers (spec §8, §10, §13).

``root`` is ``results/segment``; a run directory is ``{root}/runs/{run}``; a prediction directory is
``{root}/predict/{run}/{volume}``.
"""

from __future__ import annotations

import os
from pathlib import Path

PathLike = str | os.PathLike[str]


def run_dir(root: PathLike, run: str) -> Path:
    return Path(root) / "runs" / run


def run_yaml(run_directory: PathLike) -> Path:
    return Path(run_directory) / "run.yaml"


def stats_path(run_directory: PathLike) -> Path:
    return Path(run_directory) / "training_stats.csv"


def scores_path(run_directory: PathLike) -> Path:
    return Path(run_directory) / "validation_scores.json"


def scores_csv_path(run_directory: PathLike) -> Path:
    return Path(run_directory) / "validation_scores.csv"


def done_path(run_directory: PathLike) -> Path:
    return Path(run_directory) / "train.done.json"


def checkpoint_dir(run_directory: PathLike) -> Path:
    return Path(run_directory) / "checkpoints" / "iterations"


def checkpoint_path(run_directory: PathLike, iteration: int) -> Path:
    """``checkpoints/iterations/{N}.pt``: the state after N iterations."""
    return checkpoint_dir(run_directory) / f"{int(iteration)}.pt"


def validation_path(run_directory: PathLike, iteration: int, dataset: str) -> Path:
    """``validation/{N}/{dataset}.json``: one (checkpoint, dataset) job's scores (validation.mode jobs)."""
    return Path(run_directory) / "validation" / str(int(iteration)) / f"{dataset}.json"


def validation_arrays(run_directory: PathLike, iteration: int) -> Path:
    """``validation.zarr/{N}`` (store_arrays): predictions and post-processed outputs."""
    return Path(run_directory) / "validation.zarr" / str(int(iteration))


def best_path(run_directory: PathLike, criterion: str) -> Path:
    """``best/{criterion}.json``: the best (iteration, parameter) for ``criterion``."""
    return Path(run_directory) / "best" / f"{criterion}.json"


def predict_dir(root: PathLike, run: str, volume: str) -> Path:
    return Path(root) / "predict" / run / volume
