"""Small readers shared by the stage modules."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from snakelab.batchie.models.sparse_combo import StackedThetas
from snakelab.batchie.thetas import ThetaHolder
from snakelab.core.errors import InputError


def load_chains(paths: Sequence[str | os.PathLike[str]]) -> tuple[StackedThetas, np.ndarray]:
    """(stacked thetas of all files in the given chain order, (K,) chain index of each theta).

    File c of ``paths`` holds the thetas of chain c (``thetas_<c>.h5``).
    """
    holders = [ThetaHolder.load_h5(p) for p in paths]
    chains = np.repeat(np.arange(len(holders), dtype=np.int64), [h.n_thetas for h in holders])
    return ThetaHolder.concat(holders).stacked(), chains


def check_chunk(n_chunks: int, chunk_index: int) -> None:
    """``--n-chunks`` ≥ 1 and 0 ≤ ``--chunk-index`` < ``--n-chunks``."""
    if n_chunks < 1:
        raise InputError(None, "--n-chunks", f"expected an integer >= 1, found {n_chunks}")
    if not 0 <= chunk_index < n_chunks:
        raise InputError(None, "--chunk-index", f"expected 0..{n_chunks - 1}, found {chunk_index}")
