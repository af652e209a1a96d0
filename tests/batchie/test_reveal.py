"""Reveal (spec §6): rows marked observed, order, values and mappings unchanged; errors and warnings."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from snakelab.batchie.data import Screen
from snakelab.batchie.demo import demo_screens
from snakelab.batchie.reveal import reveal
from snakelab.core.errors import InputError

VALUES = [0.1, 0.2, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


def hidden_screen(values: list[float] = VALUES) -> Screen:
    """The demo rows with their true values stored but only plate_A (id 0) observed."""
    unmasked, _ = demo_screens()
    return Screen(
        unmasked.treatment_names,
        unmasked.treatment_doses,
        unmasked.sample_names,
        unmasked.plate_names,
        values,
        np.arange(12) < 4,
        control_treatment_name="control",
        treatment_mapping=unmasked.treatment_mapping,
        sample_mapping=unmasked.sample_mapping,
    )


def test_reveal_marks_the_plate_rows_observed() -> None:
    screen = hidden_screen()
    out = reveal(screen, 2)
    np.testing.assert_array_equal(out.observation_mask, np.isin(np.arange(12), [0, 1, 2, 3, 6, 7]))
    np.testing.assert_array_equal(out.observations, VALUES)
    for field in ("treatment_ids", "sample_ids", "plate_ids", "plate_names", "treatment_names"):
        np.testing.assert_array_equal(getattr(out, field), getattr(screen, field))
    assert out.treatment_mapping == screen.treatment_mapping
    assert out.sample_mapping == screen.sample_mapping
    np.testing.assert_array_equal(out.unobserved_plate_ids, [1, 3, 4])
    np.testing.assert_array_equal(screen.unobserved_plate_ids, [1, 2, 3, 4])  # input unchanged


def test_minus_one_gives_an_unchanged_copy() -> None:
    screen = hidden_screen()
    out = reveal(screen, -1)
    assert out is not screen
    np.testing.assert_array_equal(out.observation_mask, screen.observation_mask)
    np.testing.assert_array_equal(out.observations, screen.observations)


def test_nan_is_an_error_and_zeros_warn(caplog: pytest.LogCaptureFixture) -> None:
    values = list(VALUES)
    values[8] = float("nan")
    values[10] = values[11] = 0.0
    screen = hidden_screen(values)
    with pytest.raises(InputError, match="observations"):
        reveal(screen, 3)
    with caplog.at_level(logging.WARNING, logger="snakelab.batchie"):
        out = reveal(screen, 4)
    assert "only zero observations" in caplog.text
    np.testing.assert_array_equal(out.observed_plate_ids, [0, 4])
    np.testing.assert_array_equal(out.observations[10:], [0.0, 0.0])


def test_unknown_plate_id() -> None:
    with pytest.raises(InputError, match="plate_id"):
        reveal(hidden_screen(), 5)
