"""Figures a single-cell analyst expects (seaborn, Agg backend): loss curves, latent scatters,
the compare-models chart with 95% CIs. Every figure is written atomically as PNG (150 dpi)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from snakelab.core.atomic import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: str | Path, dpi: int = 150) -> None:
    """Save and close ``fig`` atomically."""
    plt = _pyplot()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    plt.close(fig)


def loss_curves(
    history: pd.DataFrame,
    columns: Sequence[str],
    title: str,
    path: str | Path,
    band: pd.DataFrame | None = None,
) -> None:
    """One panel per loss (train solid, val dashed) against epoch; ``band``: per-epoch SD to shade."""
    import seaborn as sns

    plt = _pyplot()
    names = [c for c in columns if not c.startswith("val_")]
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        for col, style in ((name, "-"), (f"val_{name}", "--")):
            if col not in history:
                continue
            sns.lineplot(x=history["epoch"], y=history[col], ax=ax, linestyle=style, label=col)
            if band is not None and col in band:
                ax.fill_between(
                    history["epoch"], history[col] - band[col], history[col] + band[col], alpha=0.2
                )
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel("")
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, path)


def scatter(
    coords: np.ndarray,
    labels: Sequence[Any],
    title: str,
    path: str | Path,
    xlabel: str,
    ylabel: str,
    legend_title: str,
) -> None:
    """Scatter of 2-d ``coords`` coloured by ``labels`` (size 3, no edge, rasterised, legend outside)."""
    import seaborn as sns

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    order = sorted(pd.unique(pd.Series(labels).astype(str)))
    sns.scatterplot(
        x=coords[:, 0],
        y=coords[:, 1],
        hue=pd.Series(labels).astype(str).to_numpy(),
        hue_order=order,
        s=3,
        linewidth=0,
        rasterized=True,
        ax=ax,
        palette="tab20" if len(order) > 10 else "tab10",
    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(
        title=legend_title,
        bbox_to_anchor=(1.02, 1),
        loc="upper left",
        markerscale=3,
        fontsize=7,
        frameon=False,
    )
    save(fig, path)


def panels(coords: np.ndarray, colourings: Mapping[str, Sequence[Any]], title: str, path: str | Path) -> None:
    """Side-by-side UMAP scatters of the same ``coords``, one panel per colouring (report figure)."""
    import seaborn as sns

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(colourings), figsize=(6.5 * len(colourings), 5), squeeze=False)
    for ax, (name, labels) in zip(axes[0], colourings.items(), strict=True):
        values = pd.Series(labels).astype(str).to_numpy()
        order = sorted(set(values))
        sns.scatterplot(
            x=coords[:, 0],
            y=coords[:, 1],
            hue=values,
            hue_order=order,
            s=3,
            linewidth=0,
            rasterized=True,
            ax=ax,
            palette="tab20" if len(order) > 10 else "tab10",
        )
        ax.set_title(f"{title}: {name}")
        ax.set_xlabel("UMAP1")
        ax.set_ylabel("UMAP2")
        ax.legend(bbox_to_anchor=(1.02, 1), loc="upper left", markerscale=3, fontsize=7, frameon=False)
    fig.tight_layout()
    save(fig, path)


def compare_chart(ci: pd.DataFrame, path: str | Path, title: str) -> None:
    """Bars of the fold mean per model with 95% CI whiskers; panels label × metric.

    ``ci``: index model, columns (label, metric, stat ∈ mean|CI_lower|CI_upper) and optional flags
    (label, ``meaningful``, ``all_folds``); bars of scores flagged not meaningful are hatched, their
    tick labels starred, and a footnote says why.
    """
    import seaborn as sns

    from snakelab.scmedal.scores import FLAG, NOT_MEANINGFUL

    plt = _pyplot()
    labels = list(dict.fromkeys(ci.columns.get_level_values(0)))
    metrics = [m for m in dict.fromkeys(ci.columns.get_level_values(1)) if m != FLAG]
    flagged = False
    fig, axes = plt.subplots(
        len(labels), len(metrics), figsize=(4 * len(metrics), 3.2 * len(labels)), squeeze=False
    )
    palette = dict(zip(ci.index, sns.color_palette("tab10", len(ci.index)), strict=False))
    for i, label in enumerate(labels):
        for j, metric in enumerate(metrics):
            ax = axes[i][j]
            mean = ci[(label, metric, "mean")]
            lower, upper = ci[(label, metric, "CI_lower")], ci[(label, metric, "CI_upper")]
            ok = (
                ci[(label, FLAG, "all_folds")].fillna(True).astype(bool).to_numpy()
                if (label, FLAG, "all_folds") in ci.columns
                else np.ones(len(ci.index), dtype=bool)
            )
            flagged |= not ok.all()
            bars = ax.bar(range(len(mean)), mean, color=[palette[m] for m in ci.index])
            for bar, good in zip(bars, ok, strict=True):
                if not good:
                    bar.set_hatch("//")
                    bar.set_alpha(0.5)
            err = np.vstack([(mean - lower).to_numpy(), (upper - mean).to_numpy()])
            ax.errorbar(
                range(len(mean)), mean, yerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=3
            )
            ticks = [m if good else f"{m} *" for m, good in zip(ci.index, ok, strict=True)]
            ax.set_xticks(range(len(mean)), ticks, rotation=45, ha="right")
            ax.set_title(f"{metric} ({label})")
            ax.axhline(0, color="grey", linewidth=0.5)
    fig.suptitle(title)
    fig.tight_layout()
    if flagged:
        fig.text(0.01, 0.0, f"* hatched: not meaningful: {NOT_MEANINGFUL}", fontsize=8, va="top")
    save(fig, path)
