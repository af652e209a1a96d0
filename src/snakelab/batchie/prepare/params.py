"""Validation of the typed parameters of plate generators and smoothers (one InputError per bad value)."""

from __future__ import annotations

import numpy as np

from snakelab.core.errors import InputError

__all__ = ["check_bool", "check_int"]


def check_int(value: object, field: str, minimum: int) -> int:
    """``value`` as an int ≥ ``minimum``; InputError naming ``field`` otherwise (bools are rejected)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise InputError(None, field, f"expected an integer ≥ {minimum}, found {value!r}")
    if value < minimum:
        raise InputError(None, field, f"expected an integer ≥ {minimum}, found {value}")
    return int(value)


def check_bool(value: object, field: str) -> bool:
    """``value`` as a bool; InputError naming ``field`` unless it is a bool."""
    if not isinstance(value, bool | np.bool_):
        raise InputError(None, field, f"expected true or false, found {value!r}")
    return bool(value)
