"""Corner plot of the posterior of one target (spec §11): ``plots/posterior_t{t}.png``.

1-D marginals on the diagonal, 68 % / 95 % credible contours of the 2-D marginals below it (levels
from the sorted cumulative grid mass, :func:`~snakelab.imnn.lfi.grid.credible_levels`), one colour per
method (GA, ABC, PMC) overlaid, the true θ marked when known.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from snakelab.core.atomic import atomic_path
from snakelab.imnn.lfi.grid import credible_levels, parameter_pairs

COLOURS = {"GA": "C0", "ABC": "C1", "PMC": "C2"}
MASSES = (0.68, 0.95)


def plot_posterior(
    output: str | os.PathLike[str],
    ranges: np.ndarray,
    marginals: Mapping[str, tuple[np.ndarray, np.ndarray]],
    truth: Sequence[float] | None = None,
    labels: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """Write the corner plot of one target to ``output`` (PNG, atomically) and return its path.

    ``ranges`` (n_params, G) is the grid; ``marginals`` maps a method name (``GA``, ``ABC``, ``PMC``)
    to its (1-D (n_params, G), 2-D (n_pairs, G, G)) marginals of this target, pairs (i, j), i < j in
    the order of :func:`~snakelab.imnn.lfi.grid.parameter_pairs`, axis 0 of a 2-D marginal being θ_i.
    All-zero marginals (a method with no accepted sample) are skipped. ``truth`` (n_params,) is marked
    by lines and a star; ``labels`` name the parameters.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_params = ranges.shape[0]
    labels = list(labels) if labels is not None else [f"θ{p}" for p in range(n_params)]
    pair_index = {(int(i), int(j)): k for k, (i, j) in enumerate(parameter_pairs(n_params))}
    size = 2.6 * n_params
    fig, axes = plt.subplots(n_params, n_params, figsize=(size, size), squeeze=False)
    for row in range(n_params):
        for col in range(n_params):
            ax = axes[row, col]
            if col > row:
                ax.set_axis_off()
                continue
            for c, (name, (m1, m2)) in enumerate(marginals.items()):
                colour = COLOURS.get(name, f"C{3 + c}")
                if row == col:
                    if m1[row].any():
                        ax.plot(ranges[row], m1[row], color=colour, label=name)
                    continue
                # below the diagonal: x = θ_col, y = θ_row, pair (col, row) with col < row
                density = m2[pair_index[(col, row)]]
                if not density.any():
                    continue
                levels = np.unique(credible_levels(density, MASSES))
                if levels.size and np.isfinite(levels).all() and levels.max() > 0:
                    ax.contour(
                        ranges[col], ranges[row], density.T, levels=levels, colors=colour, linewidths=1.0
                    )
            if truth is not None:
                ax.axvline(truth[col], color="k", linestyle=":", linewidth=0.8)
                if row != col:
                    ax.axhline(truth[row], color="k", linestyle=":", linewidth=0.8)
                    ax.plot(truth[col], truth[row], marker="*", color="k", markersize=8)
            ax.set_xlim(ranges[col, 0], ranges[col, -1])
            if row != col:
                ax.set_ylim(ranges[row, 0], ranges[row, -1])
            if row == n_params - 1:
                ax.set_xlabel(labels[col])
            if col == 0 and row > 0:
                ax.set_ylabel(labels[row])
            if row == col:
                ax.set_yticks([])
    handles, names = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, names, loc="upper right", frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(output) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return Path(output)


def plot_posteriors(
    directory: str | os.PathLike[str],
    ranges: np.ndarray,
    marginals: Mapping[str, tuple[np.ndarray, np.ndarray]],
    truths: np.ndarray | None = None,
    labels: Sequence[str] | None = None,
) -> list[Path]:
    """``{directory}/posterior_t{t}.png`` for every target t.

    ``marginals`` maps a method name to its (1-D (n_targets, n_params, G), 2-D (n_targets, n_pairs,
    G, G)) arrays, e.g. the ``marginals_1d``/``marginals_2d`` fields of ``ga.npz``, ``abc.npz``,
    ``pmc.npz``; ``truths`` (n_targets, n_params) the true parameters of simulated targets.
    """
    n_targets = next(iter(marginals.values()))[0].shape[0]
    paths = []
    for t in range(n_targets):
        per_target = {name: (m1[t], m2[t]) for name, (m1, m2) in marginals.items()}
        truth = None if truths is None else truths[t]
        output = Path(directory) / f"posterior_t{t}.png"
        paths.append(plot_posterior(output, ranges, per_target, truth, labels, title=f"target {t}"))
    return paths
