"""Holdout (spec §7 step 6): ceil(size · fraction) rows of each unobserved plate, in plate-id order."""

from __future__ import annotations

import numpy as np
import pytest

from snakelab.batchie.prepare.holdout import holdout, holdout_mask
from snakelab.core.errors import InputError
from tests.batchie.test_plate_generators import ScriptedRng
from tests.batchie.test_smoothers import plates_screen

# rows: obs 0-2 (observed), p1 3, p2 4-5, p10 6-15, p11 16-26, p20 27-46
PLATES = [("s0", "obs", 3), ("s0", "p1", 1), ("s1", "p2", 2), ("s0", "p10", 10), ("s1", "p11", 11)]
PLATES += [("s0", "p20", 20)]


def test_ceil_rule_per_unobserved_plate() -> None:
    screen = plates_screen(PLATES, observed=["obs"])
    test = holdout_mask(screen, 0.1, np.random.default_rng(0))
    counts = {
        name: int(test[screen.plate_names == name].sum()) for name in ("obs", "p1", "p2", "p10", "p11", "p20")
    }
    # ceil(1·0.1) = 1 (the whole plate), ceil(2·0.1) = 1 (50 %), 10 -> 1, 11 -> 2, 20 -> 2; observed: none
    assert counts == {"obs": 0, "p1": 1, "p2": 1, "p10": 1, "p11": 2, "p20": 2}


def test_draws_in_plate_id_order_and_rows_keep_screen_order() -> None:
    screen = plates_screen(PLATES, observed=["obs"])
    # plate ids by name: obs 0, p1 1, p10 2, p11 3, p2 4, p20 5 -> draws for p1, p10, p11, p2, p20
    rng = ScriptedRng([0], [9], [10, 2], [1], [19, 0])
    training, test = holdout(screen, 0.1, rng)
    assert rng.done()
    candidates = [list(range(3, 4)), list(range(6, 16)), list(range(16, 27)), [4, 5], list(range(27, 47))]
    for call, rows, n in zip(rng.calls, candidates, [1, 1, 2, 1, 2], strict=True):
        assert call[0] == "choice" and call[2:] == (n, False)
        np.testing.assert_array_equal(call[1], rows)
    held = [3, 5, 15, 18, 26, 27, 46]  # ascending although drawn as 26, 18 and 46, 27
    np.testing.assert_array_equal(test.observations, screen.observations[held])
    assert test.plate_names.tolist() == ["p1", "p2", "p10", "p11", "p11", "p20", "p20"]
    assert test.observation_mask.all() and test.is_observed
    rest = np.setdiff1d(np.arange(screen.size), held)
    np.testing.assert_array_equal(training.observations, screen.observations[rest])
    np.testing.assert_array_equal(training.observation_mask, screen.observation_mask[rest])
    assert "p1" not in training.plate_names  # a 1-well plate moves entirely
    assert training.experiment_space == screen.experiment_space == test.experiment_space


def test_zero_fraction_holds_out_nothing_but_still_draws_per_plate() -> None:
    screen = plates_screen(PLATES, observed=["obs"])
    rng = ScriptedRng([], [], [], [], [])
    training, test = holdout(screen, 0.0, rng)
    assert rng.done() and [c[2] for c in rng.calls] == [0] * 5
    assert (training.size, test.size) == (screen.size, 0)


def test_half_fraction_rounds_up() -> None:
    screen = plates_screen([("s0", "a", 3), ("s0", "b", 5)])
    test = holdout_mask(screen, 0.5, np.random.default_rng(1))
    assert [int(test[:3].sum()), int(test[3:].sum())] == [2, 3]


@pytest.mark.parametrize("fraction", [-0.1, 1.5, "0.1", True])
def test_bad_fraction_names_the_field(fraction: object) -> None:
    screen = plates_screen([("s0", "a", 3)])
    with pytest.raises(InputError) as info:
        holdout(screen, fraction, np.random.default_rng(0))  # type: ignore[arg-type]
    assert info.value.field == "holdout_fraction"
