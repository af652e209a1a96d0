"""``snakelab imnn compress``: score-compressed estimates θ̂ of the targets (spec §5, §12), and the
``compress`` callable the LFI stages use."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.imnn import config, npz

log = logging.getLogger("snakelab.imnn.compress")


def load_estimator(section: dict[str, Any], fit_dir: str | Path) -> tuple[Callable, dict[str, np.ndarray]]:
    """(``compress(data (n, *input)) -> θ̂ (n, n_params)`` as NumPy, the fitted statistics)."""
    from snakelab.imnn import estimator, runtime

    fit_dir = Path(fit_dir)
    stats = estimator.load_statistics(fit_dir / "statistics.npz")
    dtype = runtime.set_precision(section)
    shape = runtime.input_shape(section)
    init, apply = runtime.network(section, dtype)
    template = runtime.initial_weights(section, init, shape)
    w = runtime.load_weights(fit_dir / "weights.npz", template)
    estimate = estimator.make_estimator(apply, w, stats, shape)

    def compress(data: np.ndarray) -> np.ndarray:
        return np.asarray(estimate(np.asarray(data, dtype=np.dtype(section["dtype"]))), dtype=np.float64)

    return compress, stats


def main(args: argparse.Namespace) -> None:
    section = config.load(args.config)
    compress, _ = load_estimator(section, args.fit_dir)
    with np.load(args.target) as z:
        data = z["data"]
        theta = z["theta"] if "theta" in z else None
    theta_hat = compress(data)
    arrays = {"theta_hat": theta_hat} if theta is None else {"theta_hat": theta_hat, "theta": theta}
    npz.save(args.output, arrays)
    for t, est in enumerate(theta_hat):
        truth = "" if theta is None else f" (truth {np.round(theta[t], 4).tolist()})"
        log.info("target %d: theta_hat = %s%s", t, np.round(est, 4).tolist(), truth)
