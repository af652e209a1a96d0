"""Seed derivation: every random draw comes from the config seed plus the job's coordinates.

A job at coordinates ``(rep, stage, iteration, chain)`` gets
``SeedSequence(entropy=seed, spawn_key=coords)``, so seeds never depend on how many jobs run, in
which order, or on how many cores; two jobs with different coordinates get independent streams.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _check_coordinates(coords: Sequence[int]) -> tuple[int, ...]:
    out = []
    for c in coords:
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 0:
            raise ValueError(f"seed coordinates must be non-negative integers, got {c!r}")
        out.append(int(c))
    return tuple(out)


def seed_sequence(seed: int, *coords: int) -> np.random.SeedSequence:
    """``SeedSequence(entropy=seed, spawn_key=coords)`` for the job at ``coords``.

    ``seed`` is the config seed (non-negative int); ``coords`` are the job's wildcards as
    integers (replicate, stage number, iteration, chain, chunk, fold, ...).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.SeedSequence(entropy=int(seed), spawn_key=_check_coordinates(coords))


def rng(seed: int, *coords: int) -> np.random.Generator:
    """A ``numpy.random.Generator`` (PCG64) for the job at ``coords``; see :func:`seed_sequence`."""
    return np.random.default_rng(seed_sequence(seed, *coords))


def integer_seed(seed: int, *coords: int) -> int:
    """A 32-bit integer seed for the job at ``coords``, for libraries that take an int (Keras, torch, JAX)."""
    return int(seed_sequence(seed, *coords).generate_state(1, dtype=np.uint32)[0])
