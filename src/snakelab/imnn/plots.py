"""The fit-history figure (spec §11): three stacked panels sharing "Number of iterations".

(1) |F| training (solid) and validation (dotted), dashed black line at the analytic |F| when known;
(2) |C| and |C⁻¹| on a log y-axis with a dashed line at 1; (3) Λ2 on the left axis, r on a twin right
axis. A vertical line marks the best iteration. Several fits can be overplotted by passing ``ax``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core.atomic import atomic_path


def plot_history(
    history: Mapping[str, Any],
    ax: Any = None,
    expected_detF: float | None = None,
    label: str = "",
    colour: str = "C0",
    figsize: tuple[float, float] = (5, 15),
) -> Any:
    """Draw ``history`` (the ``history.npz`` arrays: detF, detC, detinvC, Λ2, r, val_*, best_iteration)
    on ``ax`` (3 axes; new figure when None); return the axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(3, 1, sharex=True, figsize=figsize)
        ax[2].twin = ax[2].twinx()
        ax[0].set_ylabel(r"$|\mathbf{F}|$")
        ax[1].set_ylabel(r"$|\mathbf{C}|$ and $|\mathbf{C}^{-1}|$")
        ax[1].set_yscale("log")
        ax[1].axhline(1.0, color="k", linestyle="dashed")
        ax[2].set_ylabel(r"$\Lambda_2$")
        ax[2].twin.set_ylabel(r"$r$")
        ax[2].set_xlabel("Number of iterations")
        if expected_detF is not None:
            ax[0].axhline(expected_detF, color="k", linestyle="dashed", label="analytic")
    n = len(history["detF"])
    it = np.arange(n)
    prefix = f"{label} " if label else ""
    ax[0].plot(it, history["detF"], color=colour, label=f"{prefix}training")
    if "val_detF" in history:
        ax[0].plot(it, history["val_detF"], color=colour, linestyle="dotted", label=f"{prefix}validation")
    ax[1].plot(it, history["detC"], color=colour, label=f"{prefix}|C|")
    ax[1].plot(it, history["detinvC"], color=colour, linestyle="dashdot", label=f"{prefix}|C⁻¹|")
    if "val_detC" in history:
        ax[1].plot(it, history["val_detC"], color=colour, linestyle="dotted")
        ax[1].plot(it, history["val_detinvC"], color=colour, linestyle=(0, (1, 4)))
    ax[2].plot(it, history["Λ2"], color=colour, label=f"{prefix}Λ2")
    ax[2].twin.plot(it, history["r"], color=colour, linestyle="dashed", label=f"{prefix}r")
    best = int(np.asarray(history.get("best_iteration", -1)))
    if best >= 0:
        for a in ax:
            a.axvline(best, color=colour, linestyle=":", linewidth=0.8)
    ax[0].legend(frameon=False)
    ax[1].legend(frameon=False)
    return ax


def write_history_plot(
    history_npz: str | os.PathLike[str], output: str | os.PathLike[str], expected_detF: float | None
) -> Path:
    """``plots/history.png`` from ``fit/history.npz`` (atomic)."""
    import matplotlib.pyplot as plt

    with np.load(history_npz) as z:
        history = {k: z[k] for k in z.files}
    ax = plot_history(history, expected_detF=expected_detF)
    fig = ax[0].figure
    fig.tight_layout()
    with atomic_path(output) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return Path(output)
