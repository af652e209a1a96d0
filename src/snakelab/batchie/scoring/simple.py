"""Baseline plate scorers (spec §6): ``RandomScorer`` (the paper's Random arm) and ``SizeScorer``.

Both share :class:`~snakelab.batchie.scoring.pdbal.GaussianDBALScorer`'s ``score`` signature and need
no model. Lower scores are better. Only numpy is imported.
"""

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from snakelab.batchie.data import Screen
from snakelab.core.seeds import rng as seeded_rng

__all__ = ["RandomScorer", "SizeScorer"]


@dataclass(frozen=True)
class RandomScorer:
    """Uniform random scores: ``u = rng(seed, rep, 3, iteration, plate).random(n_plates of the screen)``.

    The score of plate id p is ``u[p]``, so it does not depend on chunking or on the batch.
    """

    requires_model: ClassVar[bool] = False

    def score(
        self,
        screen: Screen,
        plate_ids: np.ndarray,
        plate_rows: list[np.ndarray],
        *,
        stacked: Any = None,
        distance: np.ndarray | None = None,
        seed: int = 0,
        rep: int = 0,
        iteration: int = 0,
        plate: int = 0,
        block_mb: int = 256,
    ) -> np.ndarray:
        """(len(plate_ids),) float64 in [0, 1): ``u[plate_ids]``; the other arguments are unused."""
        u = seeded_rng(seed, rep, 3, iteration, plate).random(screen.n_plates)
        return u[np.asarray(plate_ids, dtype=np.int64)]


@dataclass(frozen=True)
class SizeScorer:
    """Score = number of rows of the (joint) plate, as float64 (smaller plates first)."""

    requires_model: ClassVar[bool] = False

    def score(
        self,
        screen: Screen,
        plate_ids: np.ndarray,
        plate_rows: list[np.ndarray],
        *,
        stacked: Any = None,
        distance: np.ndarray | None = None,
        seed: int = 0,
        rep: int = 0,
        iteration: int = 0,
        plate: int = 0,
        block_mb: int = 256,
    ) -> np.ndarray:
        """(len(plate_rows),) float64: the sizes of ``plate_rows``; the other arguments are unused."""
        return np.array([np.asarray(r).size for r in plate_rows], dtype=np.float64)
