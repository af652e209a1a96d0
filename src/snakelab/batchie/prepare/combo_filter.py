"""Step 1 of prepare (spec §7): keep the rows whose treatments all occur in some combination.

A *combination row* has no control slot (every treatment id ≥ 0). A row is kept when each of its
treatment ids is −1 (control) or occurs in at least one combination row; single-drug rows of drugs never
combined are dropped. The screen is rebuilt from the kept rows, so treatment and sample ids are
re-derived from them (the reference's behaviour; every later screen carries these mappings). No random
draws.
"""

from __future__ import annotations

import numpy as np

from snakelab.batchie.data import Screen

__all__ = ["combo_filter", "combo_filter_mask"]


def combo_filter_mask(treatment_ids: np.ndarray) -> np.ndarray:
    """(n,) bool: rows of ``treatment_ids`` ((n, a) int64, −1 = control) that the filter keeps."""
    ids = np.asarray(treatment_ids, dtype=np.int64)
    combo = np.all(ids >= 0, axis=1)
    in_combo = np.zeros(max(int(ids.max(initial=-1)) + 1, 1), dtype=bool)
    in_combo[ids[combo].ravel()] = True
    return np.all((ids < 0) | in_combo[np.maximum(ids, 0)], axis=1)


def combo_filter(screen: Screen, masked: bool = False) -> Screen:
    """A new screen of the kept rows (row order, plates, observations and flags kept; ids re-derived).

    ``masked``: mark every kept row unobserved instead (prepare without an initial plate generator,
    whose step 2 masks every row; one rebuild instead of two).
    """
    rows = np.flatnonzero(combo_filter_mask(screen.treatment_ids))
    return Screen(
        screen.treatment_names[rows],
        screen.treatment_doses[rows],
        screen.sample_names[rows],
        screen.plate_names[rows],
        screen.observations[rows],
        np.zeros(rows.size, dtype=bool) if masked else screen.observation_mask[rows],
        control_treatment_name=screen.control_treatment_name,
    )
