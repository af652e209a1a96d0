"""The training job of one run × repetition (spec §8): checkpoints, validation points, resume.

Files of ``runs/{run}/``: ``training_stats.csv``, ``checkpoints/iterations/{N}.pt`` (state after N
iterations), ``validation_scores.json`` + ``.csv``, and the declared output ``train.done.json``
(written last; Snakemake deletes the outputs of a failed job, so everything a resume needs lives in
side files). Validation points: N % validation_interval == 0 and N = num_iterations. At each point:
stats, then checkpoint, then (``validation.mode: in_job``) validation and scores, each atomic.

Resume, with T = trained_until and K = newest checkpoint: no checkpoint → start at 0 with empty
stats and scores; K < T → stats truncated to iterations < K, scores after K dropped, resume from K;
K = T → resume; K > T → error. Optimiser, scheduler and RNG states are restored; checkpoints without
scores are validated first.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from snakelab.core.errors import InputError
from snakelab.core.progress import progress
from snakelab.segment import paths
from snakelab.segment.stats import TrainingStats, ValidationScores

log = logging.getLogger("snakelab.segment.training")


def validation_points(num_iterations: int, interval: int) -> list[int]:
    """Checkpoints N that are validated: multiples of ``interval`` up to ``num_iterations``, and it."""
    points = list(range(interval, num_iterations + 1, interval)) if interval > 0 else []
    if num_iterations not in points:
        points.append(num_iterations)
    return points


def checkpoint_iterations(run_dir: str | os.PathLike[str]) -> list[int]:
    """Iterations of the checkpoints in ``runs/{run}/checkpoints/iterations``, increasing."""
    directory = paths.checkpoint_dir(run_dir)
    if not directory.is_dir():
        return []
    return sorted(int(p.stem) for p in directory.glob("*.pt") if p.stem.isdigit())


def save_checkpoint(state: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """``torch.save`` to ``path`` atomically."""
    import torch

    from snakelab.core.atomic import write_bytes

    buffer = io.BytesIO()
    torch.save(dict(state), buffer)
    return write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    import torch

    return torch.load(Path(path), weights_only=True, map_location="cpu")


def empty_scores(run: Mapping[str, Any]) -> ValidationScores:
    """Validation scores with this run's parameters, datasets and criteria, no iteration yet."""
    from snakelab.segment.tasks import get_task

    task = get_task(run["task"])
    criteria = task.criteria
    return ValidationScores(
        [p.key for p in task.parameters()],
        [d["dataset"] for d in run["datasplit"]["resolved"]["validate"]],
        criteria,
        task.higher_is_better,
    )


def _resume_point(run_dir: Path, stats: TrainingStats) -> int:
    trained = stats.trained_until()
    checkpoints = checkpoint_iterations(run_dir)
    newest = checkpoints[-1] if checkpoints else 0
    if newest > trained:
        raise InputError(
            paths.stats_path(run_dir),
            "iterations",
            f"checkpoint {newest} is newer than the training stats (trained until {trained})",
        )
    return newest


def write_snapshot(
    run_dir: Path, iteration: int, batch: Mapping[str, Any], voxel_size: tuple[int, ...]
) -> Path:
    """``runs/{run}/snapshot.zarr/{iteration}``: raw, target, weights and prediction of that batch
    (arrays (B, C, z, y, x); the output arrays are centred in the input window)."""
    from snakelab.segment.volumes import Volume, write_volume

    axes = ["b^", "c^", "z", "y", "x"]
    raw_shape = batch["raw"].shape[2:]
    arrays = {
        k: Volume(
            v,
            voxel_size,
            [(r - s) // 2 * vs for r, s, vs in zip(raw_shape, v.shape[2:], voxel_size, strict=True)],
            axes,
        )
        for k, v in batch.items()
    }
    return write_volume(run_dir / "snapshot.zarr" / str(iteration), arrays)


def train_run(
    run_dir: str | os.PathLike[str],
    threads: int = 1,
    validation_mode: str = "in_job",
    store_arrays: bool = False,
    batch: int = 1,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Train (or resume) the run in ``run_dir``; return the ``train.done.json`` document.

    ``stop_after``: stop once checkpoint ``stop_after`` is written (an interruption, for tests and for
    training in stages); ``train.done.json`` is then not written.
    """
    from snakelab.segment.batches import load_training_data
    from snakelab.segment.configs import load_run
    from snakelab.segment.tasks import get_task
    from snakelab.segment.trainer import Trainer
    from snakelab.segment.validation import Validator

    began = time.perf_counter()
    run_dir = Path(run_dir)
    run = load_run(paths.run_yaml(run_dir))
    task = get_task(run["task"])
    limit = float(run["trainer"].get("max_in_memory_mb", 2048))
    datasets = [
        load_training_data(e, task.needs_classes, limit) for e in run["datasplit"]["resolved"]["train"]
    ]
    trainer = Trainer(run, datasets, threads)
    stats_file, scores_file = paths.stats_path(run_dir), paths.scores_path(run_dir)
    stats = TrainingStats.read(stats_file) if stats_file.exists() else TrainingStats()
    scores = ValidationScores.read_json(scores_file) if scores_file.exists() else empty_scores(run)
    start = _resume_point(run_dir, stats)
    if start == 0:
        stats, scores = TrainingStats(), empty_scores(run)
    else:
        if start < stats.trained_until():
            log.warning(
                "stats run to %d, newest checkpoint is %d: retraining from %d",
                stats.trained_until(),
                start,
                start,
            )
        stats.delete_after(start)
        scores.delete_after(start + 1)
        trainer.load_state(
            load_checkpoint(paths.checkpoint_path(run_dir, start)), paths.checkpoint_path(run_dir, start)
        )
        log.info("resuming %s from checkpoint %d", run["run"], start)
    num, interval = int(run["num_iterations"]), int(run["validation_interval"])
    points = validation_points(num, interval)
    validator = (
        Validator(run, run_dir, store_arrays=store_arrays, batch=batch)
        if validation_mode == "in_job"
        else None
    )

    def validate(n: int) -> None:
        if validator is None:
            return
        scores.add_iteration_scores(validator.validate(trainer.model, n))
        scores.write_json(scores_file)
        scores.write_csv(paths.scores_csv_path(run_dir))

    done = set(scores.iterations)
    for n in checkpoint_iterations(run_dir):
        if n in points and n not in done and n <= start:
            validate(n)
    snapshot = run["trainer"].get("snapshot_interval")
    for _ in progress(
        range(trainer.iteration, num), desc=f"train {run['run']}", total=num - trainer.iteration
    ):
        stats.add_iteration_stats(trainer.step())
        n = trainer.iteration
        if snapshot and (n - 1) % int(snapshot) == 0:
            write_snapshot(run_dir, n - 1, trainer.last_batch, trainer.sampler.datasets[0].voxel_size)
        if n in points:
            stats.write(stats_file)
            save_checkpoint(trainer.state(), paths.checkpoint_path(run_dir, n))
            validate(n)
            if stop_after is not None and n >= stop_after:
                return {}
    stats.write(stats_file)
    times = [s.time for s in stats.iteration_stats if s.iteration >= 10]
    done_doc = {
        "run": run["run"],
        "iterations": stats.trained_until(),
        "checkpoints": checkpoint_iterations(run_dir),
        "final_loss": stats.iteration_stats[-1].loss if len(stats) else None,
        "wall_s": round(time.perf_counter() - began, 3),
        "s_per_iteration": (sum(times) / len(times)) if times else None,
    }
    from snakelab.core.atomic import write_text

    write_text(paths.done_path(run_dir), json.dumps(done_doc, indent=2) + "\n")
    return done_doc
