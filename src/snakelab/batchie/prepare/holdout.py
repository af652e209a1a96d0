"""Step 6 of prepare (spec §7): hold out part of every unobserved plate as the test screen.

For each unobserved plate in plate-id order, ``ceil(size · holdout_fraction)`` of its rows (computed in
floating point as the reference does) are drawn with ``rng.choice(rows, n, replace=False)`` over its row
indices (ascending) and moved to the test screen; a 2-row plate loses one row at the default 0.1, a
1-row plate moves entirely. Observed plates stay whole in training. Both screens keep screen row order
and the mappings of the input; the test screen is fully observed (its stored values are the truth).
"""

from __future__ import annotations

import math

import numpy as np

from snakelab.batchie.data import Screen
from snakelab.batchie.prepare.rebuild import plate_rows
from snakelab.core.errors import InputError

__all__ = ["check_holdout_fraction", "holdout", "holdout_mask"]


def check_holdout_fraction(fraction: object) -> float:
    """``fraction`` as a float in [0, 1]; InputError naming ``holdout_fraction`` otherwise."""
    if isinstance(fraction, bool) or not isinstance(fraction, int | float | np.integer | np.floating):
        raise InputError(None, "holdout_fraction", f"expected a number in [0, 1], found {fraction!r}")
    if not 0.0 <= float(fraction) <= 1.0:
        raise InputError(None, "holdout_fraction", f"expected a number in [0, 1], found {fraction}")
    return float(fraction)


def holdout_mask(screen: Screen, holdout_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """(n,) bool: the rows moved to the test screen, drawing one ``rng.choice`` per unobserved plate."""
    fraction = check_holdout_fraction(holdout_fraction)
    test = np.zeros(screen.size, dtype=bool)
    rows_of = plate_rows(screen.plate_ids)
    for plate_id in screen.unobserved_plate_ids:
        rows = rows_of[plate_id]
        n = math.ceil(rows.size * fraction)
        test[rng.choice(rows, n, replace=False)] = True
    return test


def holdout(screen: Screen, holdout_fraction: float, rng: np.random.Generator) -> tuple[Screen, Screen]:
    """(training, test): the rows kept and the rows held out, both in screen order, mappings kept."""
    test_rows = holdout_mask(screen, holdout_fraction, rng)
    training = screen.subset(~test_rows)
    test = screen.subset(test_rows)
    test.set_observed(np.ones(test.size, dtype=bool))
    return training, test
