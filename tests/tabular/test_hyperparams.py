"""Hyperparameter grids and seeded searches (spec §7 Hyperparamset)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from snakelab.core.errors import InputError
from snakelab.tabular.hyperparams import (
    combo_count,
    grid,
    grid_count,
    hyperparamset,
    search_indices,
    search_size,
)

DEMO = {"neuron_count": [9, 12], "batch_size": [3], "learning_rate": [0.03, 0.05], "epoch_count": [30, 60]}


def test_demo_grid_is_the_product_in_key_order() -> None:
    points = grid(DEMO)
    assert len(points) == grid_count(DEMO) == 8
    assert points[0] == {"neuron_count": 9, "batch_size": 3, "learning_rate": 0.03, "epoch_count": 30}
    assert points[1] == {"neuron_count": 9, "batch_size": 3, "learning_rate": 0.03, "epoch_count": 60}
    assert points[7] == {"neuron_count": 12, "batch_size": 3, "learning_rate": 0.05, "epoch_count": 60}
    assert all(list(p) == list(DEMO) for p in points)
    reordered = grid({"epoch_count": [30, 60], "neuron_count": [9, 12]})
    assert [list(p.values()) for p in reordered] == [[30, 9], [30, 12], [60, 9], [60, 12]]


def test_full_grid_combos() -> None:
    hs = hyperparamset(DEMO, search_seed=123)
    assert (hs.grid_count, hs.combo_count, hs.search_seed) == (8, 8, 123)
    assert [(c.idx, c.grid_index) for c in hs.combos] == [(i, i) for i in range(8)]
    assert hs.as_row() == {
        "hyperparameters": DEMO,
        "search_count": None,
        "search_percent": None,
        "search_seed": 123,
        "grid_count": 8,
        "combo_count": 8,
    }
    assert list(hs.hyperparameters) == list(DEMO)


@pytest.mark.parametrize("empty", [None, {}])
def test_no_hyperparameters_is_one_empty_combo(empty) -> None:
    hs = hyperparamset(empty, search_seed=5)
    assert hs.grid_count == 1 and hs.combo_count == 1
    assert (hs.combos[0].idx, hs.combos[0].grid_index, hs.combos[0].hyperparameters) == (0, 0, {})
    assert combo_count(empty) == 1


def test_search_count_draws_sorted_grid_indices_from_the_stored_seed() -> None:
    hs = hyperparamset(DEMO, search_count=3, search_seed=42)
    expected = sorted(int(i) for i in np.random.default_rng(42).choice(8, 3, replace=False))
    assert [c.grid_index for c in hs.combos] == expected
    assert [c.idx for c in hs.combos] == [0, 1, 2]
    assert [c.hyperparameters for c in hs.combos] == [grid(DEMO)[g] for g in expected]
    assert hyperparamset(DEMO, search_count=3, search_seed=42) == hs
    draws = {
        tuple(c.grid_index for c in hyperparamset(DEMO, search_count=3, search_seed=s).combos)
        for s in range(6)
    }
    assert len(draws) > 1
    assert hyperparamset(DEMO, search_count=20, search_seed=1).combo_count == 8


@pytest.mark.parametrize(("percent", "k"), [(0.5, 4), (0.3, 3), (0.01, 1), (1.0, 8)])
def test_search_percent_rounds_up(percent: float, k: int) -> None:
    assert search_size(8, search_percent=percent) == k == math.ceil(8 * percent)
    hs = hyperparamset(DEMO, search_percent=percent, search_seed=9)
    assert hs.combo_count == k == combo_count(DEMO, search_percent=percent)
    assert hs.search_percent == percent and hs.search_count is None


def test_search_indices_without_search_keep_everything() -> None:
    assert search_indices(5, 5, 0) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"search_count": 2, "search_percent": 0.5}, "search_count"),
        ({"search_count": 0}, "search_count"),
        ({"search_count": 1.5}, "search_count"),
        ({"search_percent": 0.0}, "search_percent"),
        ({"search_percent": 1.5}, "search_percent"),
    ],
)
def test_bad_search_settings(kwargs: dict, field: str) -> None:
    with pytest.raises(InputError, match=f"^{field}: "):
        hyperparamset(DEMO, **kwargs)


@pytest.mark.parametrize(
    ("hp", "message"),
    [
        ({"neuron_count": 9}, "hyperparameters.neuron_count: expected a non-empty list"),
        ({"neuron_count": []}, "hyperparameters.neuron_count: expected a non-empty list"),
        ({"act": [object()]}, "hyperparameters.act: expected JSON values"),
        ({"learning_rate": [float("nan")]}, "hyperparameters.learning_rate: expected JSON values"),
        ({"bad key": [1]}, "hyperparameters.bad key: expected a keyword-argument name"),
        ([1, 2], "hyperparameters: expected a mapping of lists"),
    ],
)
def test_bad_grids_name_the_key(hp, message: str) -> None:
    with pytest.raises(InputError) as err:
        grid(hp)
    assert str(err.value).startswith(message)


def test_counting_combos_needs_no_numpy() -> None:
    code = (
        "import sys; from snakelab.tabular.hyperparams import combo_count; "
        f"n = combo_count({DEMO!r}, search_count=3); print(n, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["3", "False"]
