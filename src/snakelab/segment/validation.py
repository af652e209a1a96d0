"""Validation of a checkpoint over the post-processing grid (spec §9).

Per validation dataset: output ROI = labels ROI ∩ raw ROI, prediction by the blockwise code run in
process (:func:`snakelab.segment.blockwise.predict_volume`: eval tiles, same zero-fill rule), float32
in memory; for every parameter of the grid: post-process, evaluate every criterion →
scores[dataset][parameter][criterion]. Exceptions propagate (the reference logs and swallows them).
With ``store_arrays`` the prediction and outputs go to ``runs/{run}/validation.zarr/{N}/{dataset}``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.segment import paths, shapes
from snakelab.segment.roi import Roi, intersect
from snakelab.segment.stats import ValidationIterationScores
from snakelab.segment.tasks import get_task
from snakelab.segment.volumes import Volume, open_volume, read_array

log = logging.getLogger("snakelab.segment.validation")


class GroundTruth:
    """A validation dataset in memory: raw, and labels/mask/classes over the output ROI."""

    def __init__(self, entry: Mapping[str, Any], needs_classes: bool) -> None:
        path = Path(entry["path"])
        self.name = str(entry["dataset"])
        self.raw = read_array(path / "raw")
        labels = open_volume(path / "labels")
        self.roi: Roi = intersect(labels.roi, self.raw.roi)
        self.voxel_size = labels.voxel_size
        self.arrays: dict[str, np.ndarray] = {"labels": labels.to_ndarray(self.roi)}
        if (path / "mask").is_dir():
            self.arrays["mask"] = open_volume(path / "mask").to_ndarray(self.roi)
        if needs_classes or (path / "classes").is_dir():
            self.arrays["classes"] = open_volume(path / "classes").to_ndarray(self.roi)


def evaluate_output(
    task: Any, output: np.ndarray, truth: Mapping[str, np.ndarray], voxel_size: Any
) -> list[float]:
    """The task's criteria for one post-processed ``output``, in ``task.criteria`` order."""
    scores = task.evaluate(output, truth, voxel_size)
    return [float(scores[c]) for c in task.criteria]


class Validator:
    """Validates checkpoints of one run (see module docstring); datasets are loaded once."""

    def __init__(
        self,
        run: Mapping[str, Any],
        run_dir: str | os.PathLike[str],
        store_arrays: bool = False,
        batch: int = 1,
    ) -> None:
        self.run = run
        self.run_dir = Path(run_dir)
        self.task = get_task(run["task"])
        self.store_arrays = store_arrays
        self.batch = batch
        self.entries = list(run["datasplit"]["resolved"]["validate"])
        self._truth: dict[str, GroundTruth] = {}

    def truth(self, entry: Mapping[str, Any]) -> GroundTruth:
        name = str(entry["dataset"])
        if name not in self._truth:
            self._truth[name] = GroundTruth(entry, self.task.needs_classes)
        return self._truth[name]

    def predict(self, model: Any, truth: GroundTruth) -> np.ndarray:
        """(C, *output ROI voxels) float32 over the dataset's output ROI."""
        from snakelab.segment.blockwise import predict_volume

        arch = self.run["architecture"]
        shp = self.run["shapes"]
        model.eval()
        prediction, _ = predict_volume(
            model,
            truth.raw,
            truth.roi,
            shp["eval_input_shape"],
            shp["eval_output_shape"],
            shapes.scale(arch, truth.raw.voxel_size),
            self.batch,
        )
        return prediction

    def validate_dataset(self, model: Any, entry: Mapping[str, Any], iteration: int) -> np.ndarray:
        """Scores (n_parameters, n_criteria) of one dataset."""
        truth = self.truth(entry)
        prediction = self.predict(model, truth)
        rows = []
        outputs = {}
        for parameters in self.task.parameters():
            output = self.task.postprocess(prediction, parameters)
            rows.append(evaluate_output(self.task, output, truth.arrays, truth.voxel_size))
            outputs[parameters.key] = output
        if self.store_arrays:
            self._store(iteration, truth, prediction, outputs)
        return np.asarray(rows, dtype=np.float64)

    def validate(self, model: Any, iteration: int) -> ValidationIterationScores:
        """Scores (n_datasets, n_parameters, n_criteria) of the model at checkpoint ``iteration``."""
        was_training = model.training
        grid = [self.validate_dataset(model, e, iteration) for e in self.entries]
        model.train(was_training)
        n_parameters, n_criteria = len(self.task.parameters()), len(self.task.criteria)
        scores = np.stack(grid) if grid else np.empty((0, n_parameters, n_criteria))
        log.info("validated %s at %d: %s", self.run["run"], iteration, _summary(self.task, scores))
        return ValidationIterationScores(iteration, scores)

    def _store(
        self, iteration: int, truth: GroundTruth, prediction: np.ndarray, outputs: Mapping[str, np.ndarray]
    ) -> None:
        from snakelab.segment.volumes import write_volume

        base = paths.validation_arrays(self.run_dir, iteration) / truth.name
        channel = ["c^", "z", "y", "x"]
        arrays = {"prediction": Volume(prediction, truth.voxel_size, truth.roi.offset, channel)}
        for key, output in outputs.items():
            arrays[f"output/{key}"] = Volume(
                output, truth.voxel_size, truth.roi.offset, channel if output.ndim == 4 else ["z", "y", "x"]
            )
        write_volume(base, arrays)


def _summary(task: Any, scores: np.ndarray) -> str:
    if scores.size == 0:
        return "no validation dataset"
    c = task.criteria.index(task.default_criterion)
    mean = np.nanmean(scores[:, :, c], axis=0) if np.isfinite(scores[:, :, c]).any() else scores[0, :, c]
    return ", ".join(
        f"{p.key} {task.default_criterion}={v:.4f}" for p, v in zip(task.parameters(), mean, strict=True)
    )


def validate_job(
    run_dir: str | os.PathLike[str],
    iteration: int,
    dataset: str,
    output: str | os.PathLike[str],
    threads: int = 1,
) -> Path:
    """``validation.mode: jobs``: scores of checkpoint ``iteration`` on one dataset
    → ``validation/{N}/{dataset}.json`` (parameters × criteria, NaN as null)."""
    import json

    from snakelab.core.atomic import write_text
    from snakelab.core.errors import InputError
    from snakelab.segment.configs import load_run
    from snakelab.segment.predict import load_model

    run_dir = Path(run_dir)
    run = load_run(paths.run_yaml(run_dir))
    validator = Validator(run, run_dir)
    entries = {e["dataset"]: e for e in validator.entries}
    if dataset not in entries:
        raise InputError(
            paths.run_yaml(run_dir), "datasplit.validate", f"no dataset {dataset!r} (have {list(entries)})"
        )
    checkpoint = paths.checkpoint_path(run_dir, iteration)
    model = load_model(run, checkpoint, threads)
    scores = validator.validate_dataset(model, entries[dataset], iteration)
    doc = {
        "iteration": int(iteration),
        "dataset": dataset,
        "parameters": [p.key for p in validator.task.parameters()],
        "criteria": list(validator.task.criteria),
        "scores": [[None if not np.isfinite(v) else float(v) for v in row] for row in scores],
    }
    return write_text(output, json.dumps(doc) + "\n")


def gather_scores(run_dir: str | os.PathLike[str], files: list[str], output: str | os.PathLike[str]) -> Path:
    """Assemble the per-(checkpoint, dataset) files into ``validation_scores.json`` (+ ``.csv``)."""
    import json

    from snakelab.segment.configs import load_run
    from snakelab.segment.training import empty_scores

    run = load_run(paths.run_yaml(run_dir))
    scores = empty_scores(run)
    by_iteration: dict[int, dict[str, Any]] = {}
    for file in files:
        doc = json.loads(Path(file).read_text())
        by_iteration.setdefault(int(doc["iteration"]), {})[doc["dataset"]] = doc["scores"]
    for iteration in sorted(by_iteration):
        grid = [
            [[np.nan if v is None else v for v in row] for row in by_iteration[iteration][d]]
            for d in scores.datasets
        ]
        scores.add_iteration_scores(ValidationIterationScores(iteration, np.asarray(grid, dtype=np.float64)))
    scores.write_csv(Path(output).with_suffix(".csv"))
    return scores.write_json(output)
