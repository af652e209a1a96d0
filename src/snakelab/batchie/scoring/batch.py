"""Which plates a score job scores and what rows each one stands for (spec §6, batch conditioning).

At step (i, j) the batch ids are the plates selected at (i, 0..j−1). The candidates are
``U_j`` = unobserved plates of the step's screen not in the batch, ascending; score chunk k of n is
``np.array_split(U_j, n)[k]``. At j = 0 a candidate is scored as its own rows; for j > 0 as the joint
plate ``P ∪ S`` (S = rows of the batch plates): the union in screen-row order with duplicate conditions
(sample id and the ordered treatment ids) dropped, keeping the first. Only numpy is imported.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from snakelab.batchie.data import Screen
from snakelab.core.errors import InputError

__all__ = [
    "PlateScorer",
    "batch_ids",
    "candidate_plate_ids",
    "chunk_plate_ids",
    "joint_plate_rows",
    "score_chunk",
]


class PlateScorer(Protocol):
    """What a scorer of the registry provides (GaussianDBALScorer, RandomScorer, SizeScorer)."""

    requires_model: bool

    def score(
        self, screen: Screen, plate_ids: np.ndarray, plate_rows: list[np.ndarray], **context: Any
    ) -> np.ndarray: ...


def batch_ids(screen: Screen, batch_plate_ids: ArrayLike | None) -> np.ndarray:
    """The batch plate ids as distinct sorted int64; InputError unless each is a plate id of ``screen``."""
    ids = np.asarray([] if batch_plate_ids is None else batch_plate_ids)
    if ids.size and ids.dtype.kind not in "iu":
        raise InputError(None, "batch_plate_ids", f"expected integer plate ids, found {ids.dtype}")
    ids = np.unique(ids.astype(np.int64).ravel())
    bad = ids[(ids < 0) | (ids >= screen.n_plates)]
    if bad.size:
        raise InputError(
            None,
            "batch_plate_ids",
            f"expected plate ids in 0..{screen.n_plates - 1}, found {bad.tolist()}",
        )
    return ids


def candidate_plate_ids(screen: Screen, batch_plate_ids: ArrayLike | None = None) -> np.ndarray:
    """U_j: (u,) int64 ids of the unobserved plates of ``screen`` not in the batch, ascending."""
    return np.setdiff1d(screen.unobserved_plate_ids, batch_ids(screen, batch_plate_ids)).astype(np.int64)


def chunk_plate_ids(
    screen: Screen, batch_plate_ids: ArrayLike | None, n_chunks: int = 1, chunk_index: int = 0
) -> np.ndarray:
    """The plate ids of score chunk ``chunk_index``: ``np.array_split(U_j, n_chunks)[chunk_index]``."""
    if not 0 <= chunk_index < n_chunks:
        raise InputError(
            None, "chunk_index", f"expected 0 ≤ chunk_index < n_chunks = {n_chunks}, found {chunk_index}"
        )
    return np.array_split(candidate_plate_ids(screen, batch_plate_ids), n_chunks)[chunk_index]


def joint_plate_rows(
    screen: Screen, plate_ids: ArrayLike, batch_plate_ids: ArrayLike | None = None
) -> list[np.ndarray]:
    """Screen row indices (int64, ascending) each plate is scored as.

    Without batch plates: the plate's own rows. With batch plates S: the rows of ``P ∪ S`` in
    screen-row order, keeping only the first row of each condition (sample id, treatment id per slot,
    in slot order).
    """
    ids = np.asarray(plate_ids, dtype=np.int64).ravel()
    batch = batch_ids(screen, batch_plate_ids)
    row_plate = np.asarray(screen.plate_ids)
    in_chunk = np.isin(row_plate, ids)
    own = np.flatnonzero(in_chunk)
    if np.unique(ids).size != ids.size:
        raise ValueError("plate ids to score must be distinct")
    order = np.argsort(ids, kind="stable")
    owner = order[np.searchsorted(ids[order], row_plate[own])]
    if batch.size == 0:
        return _split_by_owner(own, owner, ids.size)
    shared = np.flatnonzero(np.isin(row_plate, batch))
    rows = np.concatenate([own, np.tile(shared, ids.size)])
    plate = np.concatenate([owner, np.repeat(np.arange(ids.size), shared.size)])
    involved = np.union1d(own, shared)
    keys = np.column_stack(
        [np.asarray(screen.sample_ids)[involved], np.asarray(screen.treatment_ids)[involved]]
    )
    condition = np.unique(keys, axis=0, return_inverse=True)[1].ravel()[np.searchsorted(involved, rows)]
    by_condition = np.lexsort((rows, condition, plate))
    sp, sc = plate[by_condition], condition[by_condition]
    first = np.ones(sp.size, dtype=bool)
    first[1:] = (sp[1:] != sp[:-1]) | (sc[1:] != sc[:-1])
    kept = by_condition[first]
    return _split_by_owner(rows[kept], plate[kept], ids.size)


def _split_by_owner(rows: np.ndarray, owner: np.ndarray, n: int) -> list[np.ndarray]:
    """Group ``rows`` by ``owner`` (0..n−1) into n ascending int64 arrays."""
    order = np.lexsort((rows, owner))
    bounds = np.cumsum(np.bincount(owner, minlength=n))[:-1]
    return [part.astype(np.int64) for part in np.split(rows[order], bounds)]


def score_chunk(
    screen: Screen,
    scorer: PlateScorer,
    batch_plate_ids: ArrayLike | None = None,
    n_chunks: int = 1,
    chunk_index: int = 0,
    **context: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Scores of one chunk of candidate plates at a step.

    ``context`` is passed to ``scorer.score`` (``stacked``, ``distance``, ``seed``, ``rep``,
    ``iteration``, ``plate``, ``block_mb``). Returns ((s,) int64 plate ids ascending, (s,) float64 scores).
    """
    ids = chunk_plate_ids(screen, batch_plate_ids, n_chunks, chunk_index)
    if ids.size == 0:
        return ids, np.zeros(0, dtype=np.float64)
    rows = joint_plate_rows(screen, ids, batch_plate_ids)
    scores = np.asarray(scorer.score(screen, ids, rows, **context), dtype=np.float64)
    return ids, scores
