"""``snakelab batchie analyze``: ``model_evaluation_analysis/`` with BATCHIE's six files (spec §2.4).

``summary_statistics.json`` and five PDFs: the sample × sample prediction-correlation heatmap, predicted
vs observed (overall and per sample, Spearman ρ in the titles) and per-sample violin plots of observed
viability, mean prediction and prediction variance (all values, and values above each sample's 99th
percentile). The directory is written atomically. Plain matplotlib (no seaborn or SciPy to import),
so the stage takes about a second and never holds up the workflow's last step.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from snakelab.batchie import analysis
from snakelab.batchie.data import Screen
from snakelab.batchie.models.evaluation import ModelEvaluation
from snakelab.batchie.thetas import ThetaHolder
from snakelab.core.atomic import atomic_directory

log = logging.getLogger("snakelab.batchie.analyze")

#: PDF metadata without a creation date, so the same numbers give the same bytes.
PDF_METADATA = {"CreationDate": None, "ModDate": None}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    fig.savefig(path, metadata=PDF_METADATA, bbox_inches="tight")
    _pyplot().close(fig)


def correlation_heatmap(names: np.ndarray, similarity: np.ndarray, path: Path) -> None:
    """Sample × sample cosine similarity of centred mean predictions."""
    plt = _pyplot()
    size = max(4.0, 0.25 * names.size + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(similarity, vmin=-1, vmax=1, cmap="RdBu_r")
    ticks = np.arange(names.size)
    ax.set_xticks(ticks, names, rotation=90)
    ax.set_yticks(ticks, names)
    fig.colorbar(image, ax=ax, label="cosine similarity of centred mean predicted viability")
    ax.set_title("Sample prediction correlation")
    _save(fig, path)


def predicted_vs_observed(evaluation: ModelEvaluation, path: Path) -> float:
    """Scatter of mean predicted vs observed viability; returns Spearman ρ."""
    plt = _pyplot()
    mean = evaluation.predictions.mean(axis=1)
    rho = analysis.spearman(evaluation.observations, mean)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(evaluation.observations, mean, s=8, alpha=0.6)
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
    ax.set_xlabel("observed viability")
    ax.set_ylabel("mean predicted viability")
    ax.set_title(f"Predicted vs observed (Spearman ρ = {rho:.3f}, n = {mean.size})")
    _save(fig, path)
    return rho


def predicted_vs_observed_by_sample(evaluation: ModelEvaluation, path: Path) -> dict[str, float]:
    """One panel per sample with its Spearman ρ; returns ρ per sample name."""
    plt = _pyplot()
    per_sample = analysis.per_sample_summary(evaluation)
    names = sorted(per_sample)
    cols = min(4, max(1, len(names)))
    rows = int(np.ceil(len(names) / cols)) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False)
    rhos = {}
    for ax, name in zip(axes.flat, names, strict=False):
        d = per_sample[name]
        rhos[name] = analysis.spearman(d["observed"], d["mean_prediction"])
        ax.scatter(d["observed"], d["mean_prediction"], s=8, alpha=0.6)
        ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--")
        ax.set_title(f"{name} (ρ = {rhos[name]:.2f})", fontsize=9)
        ax.set_xlabel("observed")
        ax.set_ylabel("mean predicted")
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    fig.suptitle("Predicted vs observed viability by sample (Spearman ρ)")
    fig.tight_layout()
    _save(fig, path)
    return rhos


def per_sample_violins(evaluation: ModelEvaluation, path: Path, percentile: float) -> None:
    """Violins per sample of observed, mean prediction and prediction variance (values ≥ percentile)."""
    plt = _pyplot()
    per_sample = analysis.per_sample_summary(evaluation)
    names = sorted(per_sample)
    quantities = [
        ("observed", "observed viability"),
        ("mean_prediction", "mean predicted viability"),
        ("prediction_variance", "prediction variance"),
    ]
    fig, axes = plt.subplots(len(quantities), 1, figsize=(max(6, 0.5 * len(names) + 2), 9), squeeze=False)
    for ax, (key, label) in zip(axes[:, 0], quantities, strict=True):
        kept = []
        for name in names:
            values = per_sample[name][key]
            kept.append(values[values >= np.percentile(values, percentile)] if values.size else values)
        positions = np.arange(len(names))
        spread = [i for i, values in enumerate(kept) if values.size > 1 and np.ptp(values) > 0]
        if spread:  # a density needs two distinct values; the points below show every sample
            ax.violinplot([kept[i] for i in spread], positions[spread], widths=0.8, showextrema=False)
        for i, values in enumerate(kept):
            ax.scatter(np.full(values.size, i), values, s=4, color="black", alpha=0.5)
        ax.set_xticks(positions, names, rotation=90)
        ax.set_ylabel(label)
    above = "all values" if percentile == 0 else f"values above each sample's {percentile:g}th percentile"
    fig.suptitle(f"Per-sample distributions ({above})")
    fig.tight_layout()
    _save(fig, path)


def run(
    model_evaluation: str | Path,
    screen: str | Path,
    thetas: list[str | Path],
    output_dir: str | Path,
    block_mb: float = 256,
) -> Path:
    """Write the analysis directory; return its path."""
    evaluation = ModelEvaluation.load_h5(model_evaluation)
    stacked = ThetaHolder.concat([ThetaHolder.load_h5(p) for p in thetas]).stacked()
    names, similarity = analysis.sample_prediction_correlation(Screen.load_h5(screen), stacked, block_mb)
    with atomic_directory(output_dir) as tmp:
        stats = analysis.summary_statistics(evaluation)
        (tmp / "summary_statistics.json").write_text(json.dumps(stats, indent=4))
        correlation_heatmap(names, similarity, tmp / "sample_prediction_correlation.pdf")
        rho = predicted_vs_observed(evaluation, tmp / "predicted_vs_observed_scatterplot.pdf")
        predicted_vs_observed_by_sample(evaluation, tmp / "predicted_vs_observed_by_sample_scatterplot.pdf")
        per_sample_violins(evaluation, tmp / "per_sample_violin_plot.pdf", 0)
        per_sample_violins(evaluation, tmp / "per_sample_violin_plot__99th_percentiles.pdf", 99)
    log.info("mse %.4f, Spearman rho %.3f; wrote %s", stats["mse"], rho, output_dir)
    return Path(output_dir)


def main(args: argparse.Namespace) -> None:
    run(args.model_evaluation, args.screen, args.thetas, args.output_dir)
