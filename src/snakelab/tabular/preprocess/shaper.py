"""FeatureShaper (spec §5): the last step of a feature, a reshape described by indices.

``reshape_indices`` is a list; entry i of the new shape is ``shape[k]`` for an int ``k``, the
literal number for a digit string (``"1"``), or the product of ``shape[k]`` over a list of ints.
The first entry must keep the samples (``0``). ``column_position`` is the first entry that holds the
columns (the last axis before reshaping, alone or in a product), ``None`` when no entry does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from snakelab.core.errors import InputError


@dataclass
class ShaperPlan:
    """The ``feature_shaper`` row: ``reshape_indices`` and ``column_position``."""

    reshape_indices: list[Any]
    column_position: int | None

    def apply(self, array: np.ndarray) -> np.ndarray:
        """``array`` reshaped (C order)."""
        return array.reshape(new_shape(array.shape, self.reshape_indices))


def new_shape(shape: Sequence[int], indices: Sequence[Any]) -> tuple[int, ...]:
    """The shape ``indices`` describe for an array of ``shape``."""
    out = []
    for entry in indices:
        if isinstance(entry, str):
            out.append(int(entry))
        elif isinstance(entry, (list, tuple)):
            out.append(int(np.prod([shape[k] for k in entry])))
        else:
            out.append(int(shape[entry]))
    return tuple(out)


def make_shaper(
    indices: Any, ndim: int, path: str | None, field: str = "input.reshape_indices"
) -> ShaperPlan:
    """Check ``indices`` against an array of ``ndim`` dims (samples first); the shaper plan."""
    if not isinstance(indices, (list, tuple)) or not indices:
        raise InputError(path, field, f"expected a non-empty list, got {indices!r}")
    checked: list[Any] = []
    position = None
    for i, entry in enumerate(indices):
        where = f"{field}[{i}]"
        if isinstance(entry, str):
            if not entry.isdigit() or int(entry) < 1:
                raise InputError(path, where, f"expected a positive number as a string, got {entry!r}")
            checked.append(entry)
            continue
        parts = list(entry) if isinstance(entry, (list, tuple)) else [entry]
        for k in parts:
            if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < ndim:
                raise InputError(path, where, f"expected a dimension index in [0, {ndim}), got {k!r}")
        if ndim - 1 in parts and position is None:
            position = i
        checked.append(parts if isinstance(entry, (list, tuple)) else entry)
    if checked[0] != 0:
        raise InputError(path, f"{field}[0]", f"expected 0 (the samples stay first), got {checked[0]!r}")
    return ShaperPlan(checked, position)
