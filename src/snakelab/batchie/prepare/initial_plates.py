"""Step 2 of prepare (spec §7): the initial plate, revealed before the first round.

:class:`SparseCoverPlateGenerator` picks a small set of rows that covers every treatment id of the
screen (the control id −1 counts as one): first one row per sample, then rows holding ids still
uncovered. The picked rows form the observed plate ``initial_plate``; every other row goes, unobserved,
to the plate ``unobserved_plate`` (a plate generator then cuts it into plates). Row order is kept.
"""

from dataclasses import dataclass

import numpy as np

from snakelab.batchie.data import Screen
from snakelab.batchie.prepare.params import check_bool
from snakelab.batchie.prepare.rebuild import rebuild

__all__ = ["INITIAL_PLATE_NAME", "UNOBSERVED_PLATE_NAME", "SparseCoverPlateGenerator", "sparse_cover_rows"]

INITIAL_PLATE_NAME = "initial_plate"
UNOBSERVED_PLATE_NAME = "unobserved_plate"


def sparse_cover_rows(
    treatment_ids: np.ndarray, sample_ids: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """(n,) bool: the rows picked to cover every treatment id, drawing from ``rng`` in the spec's order.

    ``treatment_ids``: (n, a) int64 (−1 = control, which counts as an id to cover); ``sample_ids``:
    (n,) int64. For each sample id ascending, one row of that sample holding an id not yet covered (any
    row of the sample if it has none) is drawn with ``rng.choice(indices, size=1)`` over its row indices
    in ascending order, and its ids become covered; then, while an id of the screen is uncovered, a row
    holding one is drawn the same way among all rows.
    """
    codes = np.asarray(treatment_ids, dtype=np.int64) + 1  # control −1 → code 0
    n = codes.shape[0]
    present = np.zeros(int(codes.max(initial=0)) + 1, dtype=bool)
    present[codes.ravel()] = True
    covered = np.zeros_like(present)
    chosen = np.zeros(n, dtype=bool)
    if n == 0:
        return chosen

    def pick(indices: np.ndarray) -> None:
        row = int(rng.choice(indices, size=1)[0])
        chosen[row] = True
        covered[codes[row]] = True

    order = np.argsort(sample_ids, kind="stable")
    bounds = np.flatnonzero(np.diff(np.asarray(sample_ids)[order])) + 1
    for rows in np.split(order, bounds):
        holds_uncovered = ~np.all(covered[codes[rows]], axis=1)
        pick(rows[holds_uncovered] if holds_uncovered.any() else rows)

    # rows holding an uncovered id only ever shrink as ids become covered
    active = np.flatnonzero(~np.all(covered[codes], axis=1))
    while active.size:
        pick(active)
        active = active[~np.all(covered[codes[active]], axis=1)]
    return chosen


@dataclass(frozen=True)
class SparseCoverPlateGenerator:
    """Reveal an ``initial_plate`` of rows covering every treatment id (spec §7 step 2).

    Parameters
    ----------
    reveal_single_treatment_experiments:
        Also put every row with a control slot into the initial plate (paper setting: false).
    """

    reveal_single_treatment_experiments: bool = False

    def __post_init__(self) -> None:
        check_bool(self.reveal_single_treatment_experiments, "reveal_single_treatment_experiments")

    def generate(self, screen: Screen, rng: np.random.Generator) -> Screen:
        """A new screen of the same rows in the same order: ``initial_plate`` observed, the rest in the
        unobserved plate ``unobserved_plate``; mappings and observation values kept."""
        chosen = sparse_cover_rows(screen.treatment_ids, screen.sample_ids, rng)
        if self.reveal_single_treatment_experiments:
            chosen |= np.any(screen.treatment_ids < 0, axis=1)
        names = np.where(chosen, INITIAL_PLATE_NAME, UNOBSERVED_PLATE_NAME)
        return rebuild(screen, np.arange(screen.size), names, chosen)
