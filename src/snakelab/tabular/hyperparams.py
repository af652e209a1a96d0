"""Hyperparameter grids and seeded random search (spec §7 Hyperparamset / Hyperparamcombo).

The grid is ``itertools.product`` over the keys in the given order; combo ``idx`` = grid order. With
``search_count`` (≥ 1) k = min(count, n); with ``search_percent`` ∈ (0, 1], k = ⌈n·p⌉ (never both). The
kept grid indices are ``sorted(default_rng(search_seed).choice(n, k, replace=False))``, renumbered
0..k−1 with ``grid_index`` kept. No or empty hyperparameters → one combo ``{}``.

Importing this module loads only the standard library (the plan stage counts runs at parse time);
NumPy is imported when a search draws its sample.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from snakelab.core.errors import InputError


@dataclass(frozen=True)
class Combo:
    """One hyperparameter combination: ``idx`` (0..k−1), ``grid_index`` (position in the full grid)."""

    idx: int
    grid_index: int
    hyperparameters: dict[str, Any]


@dataclass(frozen=True)
class Hyperparamset:
    """A grid, how it was searched, and its combos (the ``hyperparamset`` + ``hyperparamcombo`` rows)."""

    hyperparameters: dict[str, list[Any]]
    search_count: int | None
    search_percent: float | None
    search_seed: int
    grid_count: int
    combos: tuple[Combo, ...]

    @property
    def combo_count(self) -> int:
        """Number of combos kept (= grid_count without a search)."""
        return len(self.combos)

    def as_row(self) -> dict[str, Any]:
        """The values of the ``hyperparamset`` table's own columns."""
        return {
            "hyperparameters": self.hyperparameters,
            "search_count": self.search_count,
            "search_percent": self.search_percent,
            "search_seed": self.search_seed,
            "grid_count": self.grid_count,
            "combo_count": self.combo_count,
        }


def check_hyperparameters(hyperparameters: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """A dict of non-empty lists of JSON values (key order kept); ``None`` → ``{}``.

    A scalar, an empty list or a value JSON cannot hold is an :class:`InputError` naming the key.
    """
    if hyperparameters is None:
        return {}
    if not isinstance(hyperparameters, Mapping):
        raise InputError(
            None, "hyperparameters", f"expected a mapping of lists, got {type(hyperparameters).__name__}"
        )
    out: dict[str, list[Any]] = {}
    for key, values in hyperparameters.items():
        field = f"hyperparameters.{key}"
        if not isinstance(key, str) or not key.isidentifier():
            raise InputError(None, field, "expected a keyword-argument name")
        if not isinstance(values, (list, tuple)) or not values:
            raise InputError(None, field, f"expected a non-empty list of values, got {values!r}")
        try:
            json.dumps(list(values), allow_nan=False)
        except (TypeError, ValueError):
            raise InputError(
                None, field, f"expected JSON values (numbers, strings, lists), got {values!r}"
            ) from None
        out[key] = list(values)
    return out


def grid_count(hyperparameters: Mapping[str, Any] | None) -> int:
    """Number of grid points: the product of the list lengths (1 for no hyperparameters)."""
    return math.prod(len(v) for v in check_hyperparameters(hyperparameters).values())


def grid(hyperparameters: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Every grid point in ``itertools.product`` order over the keys as given (``[{}]`` when empty)."""
    checked = check_hyperparameters(hyperparameters)
    keys = list(checked)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*checked.values())]


def search_size(n: int, search_count: int | None = None, search_percent: float | None = None) -> int:
    """How many of ``n`` grid points a search keeps (``n`` without a search)."""
    if search_count is not None and search_percent is not None:
        raise InputError(None, "search_count", "give search_count or search_percent, not both")
    if search_count is not None:
        if isinstance(search_count, bool) or not isinstance(search_count, int) or search_count < 1:
            raise InputError(None, "search_count", f"expected an integer ≥ 1, got {search_count!r}")
        return min(search_count, n)
    if search_percent is not None:
        if isinstance(search_percent, bool) or not 0 < search_percent <= 1:
            raise InputError(None, "search_percent", f"expected a number in (0, 1], got {search_percent!r}")
        return math.ceil(n * search_percent)
    return n


def search_indices(n: int, k: int, search_seed: int) -> list[int]:
    """``sorted(default_rng(search_seed).choice(n, k, replace=False))`` as ints; ``range(n)`` if k ≥ n."""
    if k >= n:
        return list(range(n))
    import numpy as np

    return sorted(int(i) for i in np.random.default_rng(search_seed).choice(n, k, replace=False))


def hyperparamset(
    hyperparameters: Mapping[str, Any] | None,
    search_count: int | None = None,
    search_percent: float | None = None,
    search_seed: int = 0,
) -> Hyperparamset:
    """The combos of a grid, searched with ``search_seed`` when a search size is given (see module doc)."""
    checked = check_hyperparameters(hyperparameters)
    points = grid(checked)
    k = search_size(len(points), search_count, search_percent)
    chosen = search_indices(len(points), k, search_seed)
    combos = tuple(Combo(idx, g, points[g]) for idx, g in enumerate(chosen))
    return Hyperparamset(checked, search_count, search_percent, int(search_seed), len(points), combos)


def combo_count(
    hyperparameters: Mapping[str, Any] | None,
    search_count: int | None = None,
    search_percent: float | None = None,
) -> int:
    """Number of combos a config yields, without drawing the search (for counting runs at parse time)."""
    return search_size(grid_count(hyperparameters), search_count, search_percent)
