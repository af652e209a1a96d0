"""``snakelab imnn plot``: ``plots/history.png`` and ``plots/posterior_t{t}.png`` (spec §11)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from snakelab.imnn import config

log = logging.getLogger("snakelab.imnn.plot")


def _marginals(path: str | None) -> tuple[np.ndarray, np.ndarray] | None:
    if not path:
        return None
    with np.load(path) as z:
        return z["marginals_1d"], z["marginals_2d"]


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
    log.info("wrote %s and %d posterior plots", out / "history.png", len(paths))
