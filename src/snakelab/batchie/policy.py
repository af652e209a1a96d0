"""Plate selection (spec §6 "Selection"): plate policies and the minimum-score pick with fallback.

At step (i, j) the candidates are U_j (unobserved plates not in the batch, ascending). A policy narrows
them; each eligible id must have exactly one score; the minimum wins, the smallest id on ties. If the
policy leaves nothing while U_j is non-empty, ``fallback="unrestricted"`` picks from all of U_j (with a
warning) and ``"stop"`` gives −1. Only numpy is imported.
"""

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from snakelab.batchie.data import Screen
from snakelab.batchie.scoring.batch import batch_ids, candidate_plate_ids
from snakelab.core.errors import InputError

__all__ = ["FALLBACKS", "POLICIES", "KPerSamplePlatePolicy", "plate_samples", "select_plate", "select_step"]

log = logging.getLogger("snakelab.batchie")

#: Allowed values of ``policy_fallback``.
FALLBACKS = ("unrestricted", "stop")


def plate_samples(screen: Screen, plate_ids: ArrayLike) -> np.ndarray:
    """(p,) int64: the one sample id of each plate; InputError if a plate has several samples."""
    ids = np.asarray(plate_ids, dtype=np.int64).ravel()
    rows = np.flatnonzero(np.isin(screen.plate_ids, ids))
    pairs = np.unique(
        np.column_stack([np.asarray(screen.plate_ids)[rows], np.asarray(screen.sample_ids)[rows]]), axis=0
    )
    plates, first, counts = np.unique(pairs[:, 0], return_index=True, return_counts=True)
    if np.any(counts > 1):
        bad = int(plates[np.argmax(counts > 1)])
        raise InputError(
            None,
            "policy",
            f"KPerSamplePlatePolicy expects one-sample plates, found plate {bad} "
            f"({screen.get_plate(bad).plate_name!r}) with {int(counts.max())} samples",
        )
    return pairs[first, 1][np.searchsorted(plates, ids)]


@dataclass(frozen=True)
class KPerSamplePlatePolicy:
    """Batches of k plates per sample: finish the current sample before starting a new one.

    Parameters
    ----------
    k:
        Plates per sample in a batch (≥ 1).

    If some sample has 1..k−1 picks among the batch plates, only its plates are eligible (if several
    such samples, the last by first appearance among the id-sorted batch plates); otherwise only plates
    of samples not yet picked in this batch that still have ≥ k unobserved plates.
    """

    k: int

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise InputError(None, "k", f"expected a positive integer, found {self.k!r}")

    def eligible(
        self, screen: Screen, candidate_ids: ArrayLike, batch_plate_ids: ArrayLike | None = None
    ) -> np.ndarray:
        """The eligible subset of ``candidate_ids`` (U_j), ascending int64 (possibly empty)."""
        candidates = np.unique(np.asarray(candidate_ids, dtype=np.int64))
        batch = batch_ids(screen, batch_plate_ids)
        candidate_samples = plate_samples(screen, candidates)
        batch_samples = plate_samples(screen, batch)  # in batch-id order
        picked, first_seen, picks = np.unique(batch_samples, return_index=True, return_counts=True)
        open_ = (picks >= 1) & (picks < self.k)
        if open_.any():
            forced = picked[open_][np.argmax(first_seen[open_])]
            return candidates[candidate_samples == forced]
        samples, remaining = np.unique(candidate_samples, return_counts=True)
        enough = samples[remaining >= self.k]
        keep = np.isin(candidate_samples, enough) & ~np.isin(candidate_samples, picked)
        return candidates[keep]


#: ``--policy`` name → class.
POLICIES: dict[str, type] = {"KPerSamplePlatePolicy": KPerSamplePlatePolicy}


def _score_arrays(scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """(plate_ids int64, scores float64) from a ChunkedScoresHolder or a (plate_ids, scores) pair."""
    if isinstance(scores, tuple):
        ids, values = scores
    else:
        ids, values = scores.plate_ids, scores.scores
        n = getattr(scores, "current_index", None)
        if n is not None:
            ids, values = np.asarray(ids)[: int(n)], np.asarray(values)[: int(n)]
    ids = np.asarray(ids, dtype=np.int64).ravel()
    values = np.asarray(values, dtype=np.float64).ravel()
    if ids.shape != values.shape:
        raise InputError(
            None, "scores", f"expected one plate id per score, found {ids.size} and {values.size}"
        )
    return ids, values


def select_plate(
    scores: Any,
    eligible_ids: ArrayLike,
    candidate_ids: ArrayLike | None = None,
    fallback: str = "unrestricted",
) -> int:
    """The selected plate id: the eligible plate with the minimum score, smallest id on ties.

    Parameters
    ----------
    scores:
        A ``ChunkedScoresHolder`` (``plate_ids``, ``scores``, ``current_index``) or a pair of arrays
        ((s,) plate ids, (s,) scores).
    eligible_ids:
        Plate ids the policy allows (U_j itself without a policy).
    candidate_ids:
        U_j, for the fallback when ``eligible_ids`` is empty (defaults to ``eligible_ids``).
    fallback:
        ``"unrestricted"``: pick from all of U_j, logging a warning; ``"stop"``: return −1.

    Returns −1 when nothing is eligible. Each considered id must have exactly one score, else
    InputError naming the missing or duplicated ids.
    """
    if fallback not in FALLBACKS:
        raise InputError(None, "policy_fallback", f"expected one of {list(FALLBACKS)}, found {fallback!r}")
    eligible = np.unique(np.asarray(eligible_ids, dtype=np.int64))
    candidates = eligible if candidate_ids is None else np.unique(np.asarray(candidate_ids, dtype=np.int64))
    if eligible.size == 0:
        if candidates.size == 0:
            return -1
        if fallback == "stop":
            log.warning(
                "the policy left no eligible plate among %d candidates; stopping (-1)", candidates.size
            )
            return -1
        log.warning(
            "the policy left no eligible plate; selecting from all %d unobserved plates", candidates.size
        )
        eligible = candidates
    ids, values = _score_arrays(scores)
    order = np.argsort(ids, kind="stable")
    left = np.searchsorted(ids[order], eligible, side="left")
    right = np.searchsorted(ids[order], eligible, side="right")
    missing, duplicated = eligible[right == left], eligible[right - left > 1]
    if missing.size:
        raise InputError(
            None, "scores", f"expected a score for every eligible plate, missing ids {missing.tolist()}"
        )
    if duplicated.size:
        raise InputError(
            None, "scores", f"expected exactly one score per plate, duplicated ids {duplicated.tolist()}"
        )
    chosen = values[order[left]]
    if np.isnan(chosen).any():
        raise InputError(
            None, "scores", f"expected numbers, found NaN for ids {eligible[np.isnan(chosen)].tolist()}"
        )
    return int(eligible[np.argmin(chosen)])


def select_step(
    screen: Screen,
    scores: Any,
    batch_plate_ids: ArrayLike | None = None,
    policy: KPerSamplePlatePolicy | None = None,
    fallback: str = "unrestricted",
) -> int:
    """The ``selected_plate`` of a step: U_j of ``screen`` and the batch, narrowed by ``policy``, then
    :func:`select_plate`. Returns −1 when nothing is eligible (or the policy stops)."""
    candidates = candidate_plate_ids(screen, batch_plate_ids)
    eligible = candidates if policy is None else policy.eligible(screen, candidates, batch_plate_ids)
    return select_plate(scores, eligible, candidates, fallback)
