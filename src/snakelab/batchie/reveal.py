"""Reveal a selected plate (spec §6 "Reveal"): mark its rows observed in a copy of the screen.

Row order, values and mappings are unchanged (the reference re-derives the mappings, so ids could
shift). Revealed values must not be NaN; an all-zero plate only logs a warning (the reference
raises, but 0 is a valid viability). Plate id −1 (nothing selected) gives an unchanged copy.
Only numpy is imported.
"""

from __future__ import annotations

import logging

import numpy as np

from snakelab.batchie.data import Screen
from snakelab.core.errors import InputError

__all__ = ["reveal"]

log = logging.getLogger("snakelab.batchie")


def reveal(screen: Screen, plate_id: int) -> Screen:
    """A new screen with the rows of ``plate_id`` observed (their stored values revealed).

    ``plate_id``: a plate id of ``screen`` or −1. InputError for another id, or when a revealed
    value is NaN or infinite. An already observed plate gives an unchanged copy (with a warning).
    """
    if int(plate_id) == -1:
        return screen.copy()
    plate = screen.get_plate(int(plate_id))
    rows = plate.row_indices
    values = np.asarray(screen.observations)[rows]
    if not np.all(np.isfinite(values)):
        raise InputError(
            None,
            "observations",
            f"expected finite values to reveal plate {plate.plate_name!r} (id {plate_id}), found "
            f"{int(np.count_nonzero(~np.isfinite(values)))} NaN or infinite",
        )
    if np.all(values == 0):
        log.warning("revealed plate %r (id %d) has only zero observations", plate.plate_name, plate_id)
    revealed = screen.copy()
    if np.all(np.asarray(screen.observation_mask)[rows]):
        log.warning("plate %r (id %d) is already observed; nothing to reveal", plate.plate_name, plate_id)
        return revealed
    revealed.set_observed(rows)
    return revealed
