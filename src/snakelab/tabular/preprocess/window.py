"""Sliding windows over a time series feature (spec §5 "Window", AIQC's arithmetic).

n rows, w = ``size_window``, s = ``size_shift``. With ``record_shifted`` (training):
``window_count = ⌊(n − w)/s⌋``, ``lead = n − ((count − 1)·s + w) − s``, unshifted window i =
``[lead + i·s, lead + i·s + w)`` and shifted window i = unshifted + s (the target). Without it
(inference): ``count = ⌊(n − w)/s⌋ + 1``, ``lead = n − ((count − 1)·s + w)``. Requires
1 ≤ w ≤ n − s and 1 ≤ s ≤ n − w. The windows are the samples that get split; the rows a set of
windows touches (unshifted ∪ shifted) are what a fit on those windows may see.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from snakelab.core.errors import InputError


@dataclass
class WindowPlan:
    """A feature's windows; the fields are the ``window`` row's columns (ranges are ``[start, stop)``)."""

    size_window: int
    size_shift: int
    record_shifted: bool
    window_count: int
    lead: int
    samples_unshifted: list[list[int]]
    samples_shifted: list[list[int]] | None

    def rows(self, windows: Sequence[int] | np.ndarray) -> np.ndarray:
        """Sorted row positions covered by ``windows`` (unshifted ∪ shifted ranges)."""
        ranges = [self.samples_unshifted[i] for i in np.asarray(windows, dtype=np.int64)]
        if self.samples_shifted is not None:
            ranges += [self.samples_shifted[i] for i in np.asarray(windows, dtype=np.int64)]
        if not ranges:
            return np.empty(0, dtype=np.int64)
        return np.unique(np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in ranges]))

    def cut(
        self, values: np.ndarray, rows: np.ndarray, windows: Sequence[int] | np.ndarray, shifted: bool = False
    ) -> np.ndarray:
        """(len(windows), w, columns) from ``values`` (one row per position in sorted ``rows``)."""
        ranges = self.samples_shifted if shifted else self.samples_unshifted
        if ranges is None:
            raise ValueError("window: no shifted windows recorded (record_shifted was false)")
        starts = np.array([ranges[i][0] for i in np.asarray(windows, dtype=np.int64)], dtype=np.int64)
        positions = np.searchsorted(rows, starts)
        take = positions[:, None] + np.arange(self.size_window)
        return values[take]


def make_window(
    n_rows: int,
    size_window: Any,
    size_shift: Any,
    record_shifted: bool = True,
    path: str | None = None,
    field: str = "input.window",
) -> WindowPlan:
    """The windows of a series of ``n_rows`` rows (see the module docstring for the arithmetic)."""
    for name, value in (("size_window", size_window), ("size_shift", size_shift)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InputError(path, f"{field}.{name}", f"expected an integer >= 1, got {value!r}")
    w, s = int(size_window), int(size_shift)
    if w > n_rows - s:
        raise InputError(
            path,
            f"{field}.size_window",
            f"expected 1 <= size_window <= rows - size_shift = {n_rows - s}, got {w}",
        )
    if record_shifted:
        count = (n_rows - w) // s
        lead = n_rows - ((count - 1) * s + w) - s
    else:
        count = (n_rows - w) // s + 1
        lead = n_rows - ((count - 1) * s + w)
    unshifted = [[lead + i * s, lead + i * s + w] for i in range(count)]
    shifted = [[a + s, b + s] for a, b in unshifted] if record_shifted else None
    return WindowPlan(w, s, bool(record_shifted), count, lead, unshifted, shifted)


def window_from_spec(
    spec: Mapping[str, Any], n_rows: int, path: str | None, field: str = "input.window"
) -> WindowPlan:
    """``{size_window, size_shift[, record_shifted]}`` (config form) → :class:`WindowPlan`."""
    unknown = sorted(set(spec) - {"size_window", "size_shift", "record_shifted"})
    if unknown:
        raise InputError(
            path, f"{field}.{unknown[0]}", "unknown key; expected size_window, size_shift, record_shifted"
        )
    record = spec.get("record_shifted", True)
    if not isinstance(record, bool):
        raise InputError(path, f"{field}.record_shifted", f"expected true or false, got {record!r}")
    return make_window(n_rows, spec.get("size_window"), spec.get("size_shift"), record, path, field)
