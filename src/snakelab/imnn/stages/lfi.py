"""``snakelab imnn ga | abc-chunk | abc | pmc``: likelihood-free inference with the fitted compression
(spec §10), through :mod:`snakelab.imnn.lfi`. Simulations for ABC and PMC use the streams ``abc`` and
``pmc`` (simulation j: ``fold_in(stream_key, j)``)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

import numpy as np

from snakelab.core.errors import InputError
from snakelab.imnn import config

log = logging.getLogger("snakelab.imnn.lfi")


def _box(section: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    from snakelab.imnn.lfi.prior import check_box

    return check_box(section["prior"]["low"], section["prior"]["high"])


def _ranges(section: dict[str, Any]) -> np.ndarray:
    from snakelab.imnn.lfi.grid import grid_ranges

    low, high = _box(section)
    return grid_ranges(low, high, section["lfi"]["gridsize"])


def _targets(path: str) -> np.ndarray:
    with np.load(path) as z:
        return z["theta_hat"]


def _simulator(section: dict[str, Any], stream: str) -> Any:
    from snakelab.imnn import runtime
    from snakelab.imnn.simulators import batch_simulator

    entry = config.simulator_entry(section)
    if entry is None:
        raise InputError(None, "imnn.simulator", "ABC and PMC need a simulator (not external data)")
    runtime.set_precision(section)
    key = runtime.stream_key(section["seed"], stream)
    return batch_simulator(entry, section["simulator"].get("args"), key, np.dtype(section["dtype"]))


def main_ga(args: argparse.Namespace) -> None:
    from snakelab.imnn.estimator import load_statistics
    from snakelab.imnn.lfi.ga import gaussian_approximation, write_ga

    section = config.load(args.config)
    stats = load_statistics(args.statistics)
    result = gaussian_approximation(_targets(args.targets), stats["invF"], _ranges(section))
    write_ga(args.output, result)
    log.info("wrote %s", args.output)


def main_abc_chunk(args: argparse.Namespace) -> None:
    from snakelab.imnn.lfi.abc import abc_chunk, write_chunk
    from snakelab.imnn.stages.compress import load_estimator

    section = config.load(args.config)
    compress, stats = load_estimator(section, args.fit_dir)
    low, high = _box(section)
    abc = section["lfi"]["abc"]
    chunk = abc_chunk(
        args.chunk,
        abc["n_per_chunk"],
        section["seed"],
        low,
        high,
        _targets(args.targets),
        _simulator(section, "abc"),
        compress,
        fisher=np.asarray(stats["F"], dtype=np.float64),
        distance=section["lfi"]["distance"],
        batch=min(1000, abc["n_per_chunk"]),
    )
    write_chunk(args.output, chunk)
    log.info("wrote %s: %d draws", args.output, len(chunk.parameters))


def main_abc(args: argparse.Namespace) -> None:
    from snakelab.imnn.lfi.abc import abc_join, read_chunks, write_abc

    section = config.load(args.config)
    abc = section["lfi"]["abc"]
    result, summary = abc_join(
        read_chunks(args.chunks),
        _ranges(section),
        quantile=abc["quantile"],
        epsilon=abc["epsilon"],
        smoothing=abc["smoothing"],
        min_accepted=abc["min_accepted"],
    )
    write_abc(args.output, args.summary, result, summary)
    log.info("wrote %s: %s accepted of %d", args.output, summary["n_accepted"], summary["n_draws"])


def main_pmc(args: argparse.Namespace) -> None:
    from snakelab.imnn.lfi.abc import read_chunks
    from snakelab.imnn.lfi.pmc import pmc, write_pmc
    from snakelab.imnn.stages.compress import load_estimator

    section = config.load(args.config)
    compress, stats = load_estimator(section, args.fit_dir)
    low, high = _box(section)
    cfg = section["lfi"]["pmc"]
    initial = None
    if cfg["n_initial"] is None:
        draws = read_chunks(args.abc_chunks)
        initial = (draws.parameters, draws.distances)
    result = pmc(
        _targets(args.targets),
        low,
        high,
        _simulator(section, "pmc"),
        compress,
        section["seed"],
        fisher=np.asarray(stats["F"], dtype=np.float64),
        distance=section["lfi"]["distance"],
        initial=initial,
        n_points=cfg["n_points"],
        n_initial=cfg["n_initial"],
        quantile=cfg["quantile"],
        proposal_scale=cfg["proposal_scale"],
        acceptance_ratio=cfg["acceptance_ratio"],
        max_iterations=cfg["max_iterations"],
        max_simulations=cfg["max_simulations"],
        batch=cfg["batch"],
    )
    write_pmc(args.output, result, _ranges(section), section["lfi"]["abc"]["smoothing"])
    log.info(
        "wrote %s: iterations %s, stop %s",
        args.output,
        result.iterations.tolist(),
        result.stop_reason.tolist(),
    )
