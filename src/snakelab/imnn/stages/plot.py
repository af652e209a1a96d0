"""``snakelab imnn plot``: ``plots/history.png`` and ``plots/posterior_t{t}.png`` (spec §11)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from snakelab.core import atomic
from snakelab.imnn import config

log = logging.getLogger("snakelab.imnn.plot")


def _marginals(path: str | None) -> tuple[np.ndarray, np.ndarray] | None:
    if not path:
        return None
    with np.load(path) as z:
        return z["marginals_1d"], z["marginals_2d"]


def marginal_summary(grid: np.ndarray, density: np.ndarray) -> dict[str, float]:
    """Mean and central 68 % interval (16th, 84th percentiles) of a 1-D marginal on ``grid``."""
    mass = np.clip(density, 0.0, None)
    mass = mass / mass.sum()
    cdf = np.cumsum(mass) - 0.5 * mass  # mass up to each grid point (cell centres)
    low, high = np.interp([0.16, 0.84], cdf, grid)
    return {"mean": float(np.sum(grid * mass)), "low68": float(low), "high68": float(high)}


def posterior_summary(
    ranges: np.ndarray, marginals: dict[str, tuple[np.ndarray, np.ndarray]], truths: np.ndarray | None
) -> list[dict]:
    """Per target: per method and parameter the marginal's mean and 68 % interval, and the truth."""
    n_targets = next(iter(marginals.values()))[0].shape[0]
    out = []
    for t in range(n_targets):
        entry: dict = {"target": t, "truth": None if truths is None else truths[t].tolist()}
        for name, (m1, _) in marginals.items():
            if m1[t].any():
                entry[name] = [marginal_summary(ranges[p], m1[t, p]) for p in range(ranges.shape[0])]
        out.append(entry)
    return out


def main(args: argparse.Namespace) -> None:
    from snakelab.imnn.lfi.corner import plot_posteriors
    from snakelab.imnn.lfi.grid import grid_ranges
    from snakelab.imnn.plots import write_history_plot

    section = config.load(args.config)
    out = Path(args.output_dir)
    metrics = json.loads(Path(args.metrics).read_text())
    write_history_plot(args.history, out / "history.png", metrics.get("detF_analytic"))
    marginals = {}
    for name, path in (("GA", args.ga), ("ABC", args.abc), ("PMC", args.pmc)):
        found = _marginals(path)
        if found is not None:
            marginals[name] = found
    with np.load(args.targets) as z:
        truths = z["theta"] if "theta" in z else None
    entry = config.simulator_entry(section)
    labels = list(entry.parameter_names) if entry is not None else None
    ranges = grid_ranges(
        np.asarray(section["prior"]["low"]), np.asarray(section["prior"]["high"]), section["lfi"]["gridsize"]
    )
    paths = plot_posteriors(out, ranges, marginals, truths, labels)
    summary = posterior_summary(ranges, marginals, truths)
    atomic.write_text(out / "posterior_summary.json", json.dumps(summary, indent=2) + "\n")
    for entry in summary:
        for name in marginals:
            if name in entry:
                parts = [f"{s['mean']:.3f} [{s['low68']:.3f}, {s['high68']:.3f}]" for s in entry[name]]
                log.info(
                    "target %d %s: %s (truth %s)", entry["target"], name, "; ".join(parts), entry["truth"]
                )
    log.info("wrote %s and %d posterior plots", out / "history.png", len(paths))
