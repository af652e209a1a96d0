"""Plots a microscopist looks at (spec §13): loss, score vs iteration, orthogonal slices, run summary.

- ``loss.png``: loss vs iteration (log y), raw and running mean over 50 iterations;
- ``scores.png``: one panel per criterion, score vs iteration, one line per post-processing parameter
  (datasets averaged), the best point starred;
- ``slices_{volume}.png``: central z- and y-slices of raw, prediction (mean affinity / channel 0),
  segmentation (random colours, background black) and labels;
- ``summary.png``: best score per run, one point per repetition and the mean.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

RUNNING = 50


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    from snakelab.core.atomic import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png", metadata={"Software": None})
    _pyplot().close(fig)
    return Path(path)


def running_mean(values: np.ndarray, window: int = RUNNING) -> np.ndarray:
    """Mean of the last ``window`` values at each position (fewer at the start)."""
    values = np.asarray(values, dtype=float)
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - window, 0)
    return (cumulative[idx] - cumulative[lo]) / (idx - lo)


def plot_loss(
    iterations: Sequence[int], losses: Sequence[float], output: str | os.PathLike[str], title: str
) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(iterations, losses, lw=0.6, alpha=0.5, label="loss")
    ax.plot(iterations, running_mean(np.asarray(losses)), lw=1.5, label=f"running mean ({RUNNING})")
    if np.all(np.asarray(losses) > 0):
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return _save(fig, output)


def plot_scores(
    scores: Any, output: str | os.PathLike[str], title: str, best: Mapping[str, Any] | None = None
) -> Path:
    """``scores``: a :class:`~snakelab.segment.stats.ValidationScores`."""
    plt = _pyplot()
    data = scores.to_array()  # (iterations, datasets, parameters, criteria)
    criteria = scores.criteria
    cols = min(3, len(criteria))
    rows = -(-len(criteria) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    with np.errstate(invalid="ignore"):
        mean = data.mean(axis=1) if data.size else data.sum(axis=1)
    for c, criterion in enumerate(criteria):
        ax = axes[c // cols][c % cols]
        for p, parameter in enumerate(scores.parameters):
            ax.plot(scores.iterations, mean[:, p, c], marker=".", label=parameter)
        if best and best.get("criterion") == criterion:
            ax.plot(
                [best["iteration"]], [best["value"]], marker="*", ms=14, color="k", ls="none", label="best"
            )
        ax.set_title(criterion)
        ax.set_xlabel("iteration")
    for c in range(len(criteria), rows * cols):
        axes[c // cols][c % cols].axis("off")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, output)


def random_colours(segmentation: np.ndarray, seed: int = 0) -> np.ndarray:
    """RGB (…, 3) float: one random colour per id, background (0) black."""
    ids, inverse = np.unique(segmentation, return_inverse=True)
    colours = np.random.default_rng(seed).uniform(0.2, 1.0, size=(len(ids), 3))
    colours[ids == 0] = 0.0
    return colours[inverse.reshape(segmentation.shape)]


def plot_slices(
    raw: np.ndarray,
    prediction: np.ndarray,
    segmentation: np.ndarray,
    labels: np.ndarray | None,
    output: str | os.PathLike[str],
    title: str,
) -> Path:
    """Central z- and y-slices; ``prediction`` (C, z, y, x) shown as its channel mean, ``segmentation``
    (z, y, x) ids or (C, z, y, x) masks (channel 0) in random colours; arrays on the same grid."""
    plt = _pyplot()
    pred = prediction.mean(axis=0) if prediction.ndim == 4 else prediction
    seg = segmentation[0] if segmentation.ndim == 4 else segmentation
    panels = [("raw", raw, "gray"), ("prediction", pred, "viridis"), ("segmentation", seg, None)]
    if labels is not None:
        panels.append(("labels", labels, None))
    fig, axes = plt.subplots(2, len(panels), figsize=(3 * len(panels), 6), squeeze=False)
    for col, (name, array, cmap) in enumerate(panels):
        for row, axis in enumerate((0, 1)):
            image = np.take(array, array.shape[axis] // 2, axis=axis)
            ax = axes[row][col]
            if cmap is None:
                ax.imshow(random_colours(image), interpolation="nearest")
            else:
                ax.imshow(image, cmap=cmap, interpolation="nearest")
            ax.set_title(f"{name} ({'z' if axis == 0 else 'y'} slice)", fontsize=8)
            ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, output)


def plot_summary(best: Sequence[Mapping[str, Any]], output: str | os.PathLike[str]) -> Path:
    """Best score per run name: one point per repetition and the mean (a bar)."""
    plt = _pyplot()
    names = sorted({b["name"] for b in best})
    fig, ax = plt.subplots(figsize=(1.8 * max(2, len(names)), 3.5))
    for i, name in enumerate(names):
        values = [b["value"] for b in best if b["name"] == name]
        ax.bar(i, float(np.mean(values)), color="lightgray", width=0.6)
        ax.plot([i] * len(values), values, "o", color="k")
        criterion = next(b["criterion"] for b in best if b["name"] == name)
        ax.annotate(criterion, (i, float(np.mean(values))), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("best validation score")
    fig.tight_layout()
    return _save(fig, output)


def plot_run(
    run_dir: str | os.PathLike[str],
    best: str | os.PathLike[str],
    volumes: Mapping[str, tuple[str, str]],
    output_dir: str | os.PathLike[str],
) -> list[Path]:
    """``loss.png``, ``scores.png`` and ``slices_{volume}.png`` of one run into ``output_dir``.

    ``volumes``: volume name → (dataset container ``data/{volume}.zarr``, prediction directory
    ``predict/{run}/{volume}``).
    """
    import json

    from snakelab.segment import paths
    from snakelab.segment.stats import TrainingStats, ValidationScores
    from snakelab.segment.volumes import open_volume

    run_dir, output_dir = Path(run_dir), Path(output_dir)
    run = run_dir.name
    stats = TrainingStats.read(paths.stats_path(run_dir))
    written = [
        plot_loss(stats.iterations, [s.loss for s in stats.iteration_stats], output_dir / "loss.png", run)
    ]
    best_doc = json.loads(Path(best).read_text())
    scores = ValidationScores.read_json(paths.scores_path(run_dir))
    written.append(plot_scores(scores, output_dir / "scores.png", run, best_doc))
    for volume, (dataset, predict_dir) in volumes.items():
        prediction = open_volume(Path(predict_dir) / "prediction.zarr" / "prediction")
        segmentation = open_volume(Path(predict_dir) / "segmentation.zarr" / "segmentation")
        roi = segmentation.roi
        raw = open_volume(Path(dataset) / "raw").to_ndarray(roi)
        labels_path = Path(dataset) / "labels"
        labels = open_volume(labels_path).to_ndarray(roi) if labels_path.is_dir() else None
        title = f"{run} on {volume}: iteration {best_doc['iteration']}, {best_doc['parameter']}"
        written.append(
            plot_slices(
                raw,
                np.asarray(prediction.data[...], dtype=np.float32),
                np.asarray(segmentation.data[...]),
                labels,
                output_dir / f"slices_{volume}.png",
                title,
            )
        )
    return written


def plot_runs_summary(best_files: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str]) -> Path:
    """``summary.png`` from the ``best/{criterion}.json`` of every run × repetition."""
    import json

    entries = []
    for file in best_files:
        doc = json.loads(Path(file).read_text())
        entries.append({**doc, "name": doc["run"].rsplit("__", 1)[0]})
    return plot_summary(entries, output)
