"""The tabular report's figures (spec §8), drawn on matplotlib ``Figure`` objects (no pyplot state).

Each function writes ``<path>.png`` at 150 dpi, plus ``<path>.pdf`` when ``formats`` includes ``pdf``
(``report.format: pdf``), every file atomically, and returns the paths written. The inputs are the
aggregate stage's tables and arrays (metrics_df rows, histories, plot data, importance), not the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from snakelab.core.atomic import atomic_path

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

DPI = 150
FORMATS = ("png", "pdf")


def _figure(ncols: int = 1, nrows: int = 1, size: tuple[float, float] = (6.0, 4.5)) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def save_figure(fig: Figure, path: str | Path, formats: Sequence[str] = ("png",)) -> list[Path]:
    """Write ``fig`` as ``path`` with suffix ``.png`` (always) and ``.pdf`` (if asked), atomically."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"formats: unknown {unknown}; expected some of {FORMATS}")
    base = Path(path).with_suffix("")
    written = []
    for fmt in ("png", *(f for f in formats if f != "png")):
        target = base.with_suffix(f".{fmt}")
        metadata = {"CreationDate": None} if fmt == "pdf" else None
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt, dpi=DPI, metadata=metadata)
        written.append(target)
    return written


def _curve_area(x: np.ndarray, y: np.ndarray) -> float:
    order = np.argsort(x, kind="stable")
    return float(np.trapezoid(y[order], x[order])) if len(x) > 1 else float("nan")


def performance_data(
    runs: pd.DataFrame,
    score: str,
    loss: str = "loss",
    max_loss: float | None = None,
    min_score: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs :func:`plot_performance` draws (``combo_idx, loss, score``; NaN rows and runs with loss >
    ``max_loss`` or score < ``min_score`` left out) and per combo the mean and sd (ddof 1) of both."""
    data = runs[["combo_idx", loss, score]].dropna()
    if max_loss is not None:
        data = data[data[loss] <= max_loss]
    if min_score is not None:
        data = data[data[score] >= min_score]
    return data, data.groupby("combo_idx")[[loss, score]].agg(["mean", "std"])


def plot_performance(
    runs: pd.DataFrame,
    score: str,
    path: str | Path,
    loss: str = "loss",
    max_loss: float | None = None,
    min_score: float | None = None,
    formats: Sequence[str] = ("png",),
) -> list[Path]:
    """Loss vs score of every run on the evaluation split, coloured by combo, with combo mean ± sd.

    ``runs``: metrics_df rows of the evaluation role (columns ``combo_idx``, ``loss``, ``score``). Runs with
    loss > ``max_loss`` or score < ``min_score`` are left out.
    """
    import seaborn as sns

    data, summary = performance_data(runs, score, loss, max_loss, min_score)
    fig, axes = _figure()
    ax = axes[0, 0]
    combos = sorted(data["combo_idx"].unique())
    palette = dict(zip(combos, sns.color_palette("husl", max(len(combos), 1)), strict=False))
    sns.scatterplot(
        data=data, x=loss, y=score, hue="combo_idx", palette=palette, ax=ax, alpha=0.6, legend=False
    )
    for combo, row in summary.iterrows():
        ax.errorbar(
            row[(loss, "mean")],
            row[(score, "mean")],
            xerr=np.nan_to_num(row[(loss, "std")]),
            yerr=np.nan_to_num(row[(score, "std")]),
            fmt="o",
            color=palette[combo],
            markeredgecolor="black",
            capsize=3,
            label=f"combo {combo}",
        )
    ax.set_xlabel(f"{loss} (evaluation)")
    ax.set_ylabel(f"{score} (evaluation)")
    ax.set_title(f"{len(data)} runs, {len(combos)} combos (mean ± sd)")
    if combos:
        ax.legend(fontsize="small", ncols=2 if len(combos) > 8 else 1)
    return save_figure(fig, path, formats)


def plot_learning_curves(
    histories: Mapping[str, Mapping[str, Sequence[float]]],
    path: str | Path,
    skip_head: float = 0.0,
    formats: Sequence[str] = ("png",),
) -> list[Path]:
    """One panel per history key ``x`` (with ``val_x`` dashed), one colour per run (e.g. per fold).

    ``histories``: ``{run label: {key: [value per epoch]}}``; ``skip_head`` ∈ [0, 1): the fraction of
    leading epochs left out (the first epochs' loss dwarfs the rest).
    """
    import seaborn as sns

    if not 0 <= skip_head < 1:
        raise ValueError(f"skip_head must be in [0, 1), got {skip_head}")
    keys = list(dict.fromkeys(k for h in histories.values() for k in h if not k.startswith("val_")))
    keys += [k[4:] for h in histories.values() for k in h if k.startswith("val_") and k[4:] not in keys]
    keys = list(dict.fromkeys(keys)) or ["loss"]
    fig, axes = _figure(ncols=len(keys))
    colours = sns.color_palette("tab10", max(len(histories), 1))
    for ax, key in zip(axes[0], keys, strict=True):
        for colour, (label, history) in zip(colours, histories.items(), strict=False):
            for name, style in ((key, "-"), (f"val_{key}", "--")):
                values = np.asarray(history.get(name, []), dtype=float)
                if values.size == 0:
                    continue
                start = int(skip_head * values.size)
                epochs = np.arange(start + 1, values.size + 1)
                ax.plot(epochs, values[start:], style, color=colour, label=f"{label} {name}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_title(f"{key} (solid: train, dashed: evaluation)")
        ax.legend(fontsize="x-small")
    return save_figure(fig, path, formats)


def plot_curves(
    kind: str,
    curves: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]],
    path: str | Path,
    formats: Sequence[str] = ("png",),
) -> list[Path]:
    """ROC (``kind="roc"``: (fpr, tpr)) or PR (``kind="pr"``: (recall, precision)) curves, one panel per role.

    ``curves``: ``{role: {run label: (x, y)}}``; the area under each curve is in the legend.
    """
    if kind not in ("roc", "pr"):
        raise ValueError(f"kind must be roc or pr, got {kind!r}")
    xlabel, ylabel = (
        ("false positive rate", "true positive rate") if kind == "roc" else ("recall", "precision")
    )
    fig, axes = _figure(ncols=max(len(curves), 1), size=(5.0, 4.5))
    for ax, (role, runs) in zip(axes[0], curves.items(), strict=False):
        for label, (x, y) in runs.items():
            x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
            if x.size == 0:
                continue
            ax.plot(x, y, linewidth=1, label=f"{label} (AUC {_curve_area(x, y):.3f})")
        if kind == "roc":
            ax.plot([0, 1], [0, 1], ":", color="grey")
        ax.set(
            xlim=(-0.02, 1.02),
            ylim=(-0.02, 1.02),
            xlabel=xlabel,
            ylabel=ylabel,
            title=f"{kind.upper()}: {role}",
        )
        ax.legend(fontsize="x-small", loc="lower right" if kind == "roc" else "lower left")
    return save_figure(fig, path, formats)


def plot_confusion(
    matrix: np.ndarray,
    class_names: Sequence[Any],
    path: str | Path,
    title: str = "",
    formats: Sequence[str] = ("png",),
) -> list[Path]:
    """A confusion matrix (rows = truth, columns = prediction) as counts and row-normalised, side by side."""
    import seaborn as sns

    counts = np.asarray(matrix, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    names = [str(c) for c in class_names]
    fig, axes = _figure(ncols=2, size=(5.0, 4.2))
    for ax, values, fmt, label in (
        (axes[0, 0], counts, ".0f", "counts"),
        (axes[0, 1], normalised, ".2f", "row-normalised"),
    ):
        sns.heatmap(
            values, annot=True, fmt=fmt, cmap="Blues", cbar=False, ax=ax, xticklabels=names, yticklabels=names
        )
        ax.set(xlabel="predicted", ylabel="true", title=f"{title} {label}".strip())
    return save_figure(fig, path, formats)


def plot_importance(
    importance: pd.DataFrame, path: str | Path, top_n: int | None = 10, formats: Sequence[str] = ("png",)
) -> list[Path]:
    """Box plot of the loss impacts of the ``top_n`` columns with the highest median impact (top row first).

    ``importance``: :func:`~snakelab.tabular.aggregate.importance_aggregate` output (``column``,
    ``median``, ``loss_impacts``).
    """
    top = importance.sort_values("median", ascending=False, kind="stable")
    if top_n is not None:
        top = top.head(top_n)
    rows = [([float(v) for v in r.loss_impacts if v is not None], str(r.column)) for r in top.itertuples()][
        ::-1
    ]
    fig, axes = _figure(size=(6.0, 0.4 * max(len(top), 4) + 1.0))
    ax = axes[0, 0]
    if rows:
        ax.boxplot(
            [impacts for impacts, _ in rows],
            orientation="horizontal",
            tick_labels=[name for _, name in rows],
            patch_artist=True,
            boxprops={"facecolor": "#8fb4d9"},
        )
    ax.axvline(0.0, color="grey", linestyle=":")
    ax.set_xlabel("loss impact")
    ax.set_title("permutation importance (loss − baseline loss)")
    return save_figure(fig, path, formats)


def plot_regression_scatter(
    y_true: np.ndarray, y_pred: np.ndarray, path: str | Path, formats: Sequence[str] = ("png",)
) -> list[Path]:
    """y_true vs y_pred (with the identity line) and residuals vs y_pred, on the evaluation split."""
    truth = np.asarray(y_true, dtype=float).ravel()
    guess = np.asarray(y_pred, dtype=float).ravel()
    fig, axes = _figure(ncols=2, size=(5.0, 4.5))
    left, right = axes[0, 0], axes[0, 1]
    left.scatter(truth, guess, s=10, alpha=0.6)
    if truth.size:
        low, high = float(min(truth.min(), guess.min())), float(max(truth.max(), guess.max()))
        left.plot([low, high], [low, high], ":", color="grey")
    left.set(xlabel="true", ylabel="predicted", title="predicted vs true")
    right.scatter(guess, truth - guess, s=10, alpha=0.6)
    right.axhline(0.0, color="grey", linestyle=":")
    right.set(xlabel="predicted", ylabel="true − predicted", title="residuals")
    return save_figure(fig, path, formats)
