"""Plate smoothers (spec §7 step 5): hand-worked merges, trims and drops, with the exact draws."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from snakelab.batchie.data import Screen
from snakelab.batchie.prepare.registry import PLATE_SMOOTHERS
from snakelab.batchie.prepare.smoothers import (
    BatchieEnsemblePlateSmoother,
    FixedSizeSmoother,
    MergeMinPlateSmoother,
    MergeTopBottomPlateSmoother,
    NPlatePerCellLineSmoother,
    OptimalSizeSmoother,
    optimal_plate_size,
)
from snakelab.core.errors import InputError
from tests.batchie.test_plate_generators import ScriptedRng, make_screen


def plates_screen(plates: Sequence[tuple[str, str, int]], observed: Sequence[str] = ()) -> Screen:
    """Rows in blocks (sample, plate, size); plates named in ``observed`` are observed."""
    rows = [(sample, plate, "A", "B") for sample, plate, size in plates for _ in range(size)]
    mask = [row[1] in observed for row in rows]
    return make_screen(rows, observed=mask)


def names_of(screen: Screen) -> list[str]:
    return screen.plate_names.tolist()


# --- MergeMinPlateSmoother -------------------------------------------------------------------------


def test_merge_min_heap_hand_worked() -> None:
    screen = plates_screen(
        [
            *[("s1", "obs", 2), ("s0", "p0", 1), ("s0", "p1", 2), ("s0", "p2", 4), ("s0", "p3", 6)],
            *[("s1", "q0", 2), ("s1", "q1", 2), ("s1", "q2", 1)],
        ],
        observed=["obs"],
    )
    rng = ScriptedRng()
    out = MergeMinPlateSmoother(min_size=5).smooth(screen, rng)
    assert rng.calls == []
    # s0: (1,p0)+(2,p1) = 3 <= 5 -> p0 into p1; (3,p1)+(4,p2) = 7 > 5 -> stop
    # s1: (1,q2)+(2,q0) = 3 -> q2 into q0; (2,q1)+(3,q0) = 5 <= 5 -> q1 into q0 (ties: smaller id first)
    want = ["p1"] * 3 + ["p2"] * 4 + ["p3"] * 6 + ["q0"] * 5 + ["obs"] * 2
    assert names_of(out) == want
    np.testing.assert_array_equal(out.observations, screen.observations[[*range(2, 20), 0, 1]])
    np.testing.assert_array_equal(out.observation_mask, [False] * 18 + [True] * 2)
    assert out.experiment_space == screen.experiment_space


def test_merge_min_chain_of_merges_resolves_to_the_last_plate() -> None:
    screen = plates_screen([("s0", "p0", 1), ("s0", "p1", 2), ("s0", "p2", 4), ("s0", "p3", 6)])
    # 1+2 -> p1 (3); 3+4 -> p2 (7); (6,p3)+(7,p2) -> p3 into p2 (13): p0 -> p1 -> p2
    out = MergeMinPlateSmoother(min_size=100).smooth(screen, ScriptedRng())
    assert names_of(out) == ["p2"] * 13


def test_merge_min_requires_one_sample_plates() -> None:
    screen = make_screen([("s0", "pX", "A", "B"), ("s1", "pX", "A", "B"), ("s0", "pY", "A", "B")])
    with pytest.raises(InputError) as info:
        MergeMinPlateSmoother(min_size=5).smooth(screen, ScriptedRng())
    assert info.value.field == "plate_names"
    assert "'pX'" in str(info.value) and "one-sample" in str(info.value)


def test_multi_sample_observed_plate_is_allowed() -> None:
    screen = make_screen(
        [("s0", "o", "A", "B"), ("s1", "o", "A", "B"), ("s0", "p", "A", "B"), ("s0", "q", "A", "B")],
        observed=[True, True, False, False],
    )
    out = MergeMinPlateSmoother(min_size=5).smooth(screen, ScriptedRng())
    assert names_of(out) == ["q", "q", "o", "o"]


# --- MergeTopBottomPlateSmoother -------------------------------------------------------------------

TOP_BOTTOM = [("s0", "a", 1), ("s0", "b", 2), ("s0", "c", 3), ("s0", "d", 4), ("s0", "e", 5)]
TOP_BOTTOM += [("s1", "x", 3), ("s1", "y", 1)]


def test_merge_top_bottom_one_iteration() -> None:
    out = MergeTopBottomPlateSmoother(n_iterations=1).smooth(plates_screen(TOP_BOTTOM), ScriptedRng())
    # s0 sorted a1 b2 c3 d4 e5, h = 2: a -> e, b -> d, c stays; s1 y1 x3, h = 1: y -> x
    want = ["e"] + ["d"] * 2 + ["c"] * 3 + ["d"] * 4 + ["e"] * 5 + ["x"] * 4
    assert names_of(out) == want
    assert np.bincount(out.plate_ids).tolist() == [3, 6, 6, 4]  # c, d, e, x


def test_merge_top_bottom_two_iterations_breaks_ties_by_id() -> None:
    out = MergeTopBottomPlateSmoother(n_iterations=2).smooth(plates_screen(TOP_BOTTOM), ScriptedRng())
    # second round, s0: c3 d6 e6 (d before e on the tie), h = 1: c -> e
    want = ["e"] + ["d"] * 2 + ["e"] * 3 + ["d"] * 4 + ["e"] * 5 + ["x"] * 4
    assert names_of(out) == want


def test_merge_top_bottom_zero_iterations_is_identity() -> None:
    screen = plates_screen(TOP_BOTTOM)
    out = MergeTopBottomPlateSmoother(n_iterations=0).smooth(screen, ScriptedRng())
    assert names_of(out) == names_of(screen)


# --- OptimalSizeSmoother / FixedSizeSmoother -------------------------------------------------------


@pytest.mark.parametrize(
    ("sizes", "want"), [([5, 3, 3, 1, 4], 3), ([1, 3, 3, 5], 3), ([2, 2, 9], 9), ([10], 10), ([4, 4, 4], 4)]
)
def test_optimal_plate_size_is_argmax_of_rows_kept(sizes: list[int], want: int) -> None:
    assert optimal_plate_size(np.array(sizes)) == want
    brute = max(sorted(sizes), key=lambda s: (s * sum(x >= s for x in sizes), -s))
    assert want == brute


TRIM = [("s0", "w0", 5), ("s0", "w1", 3), ("s1", "w2", 3), ("s1", "w3", 1), ("s0", "w4", 4)]


def test_optimal_size_trims_larger_plates_in_id_order() -> None:
    screen = plates_screen(TRIM)  # rows: w0 0-4, w1 5-7, w2 8-10, w3 11, w4 12-15
    # sorted sizes 1 3 3 4 5: s_i (n - i) = 5 12 9 8 5 -> size 3; w3 dropped, w1 and w2 kept whole
    rng = ScriptedRng([4, 0, 2], [1, 3, 0])
    out = OptimalSizeSmoother().smooth(screen, rng)
    assert rng.done()
    np.testing.assert_array_equal(rng.calls[0][1], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(rng.calls[1][1], [12, 13, 14, 15])
    assert [c[2:] for c in rng.calls] == [(3, False), (3, False)]
    kept = [0, 2, 4, 5, 6, 7, 8, 9, 10, 12, 13, 15]
    np.testing.assert_array_equal(out.observations, screen.observations[kept])
    assert names_of(out) == ["w0"] * 3 + ["w1"] * 3 + ["w2"] * 3 + ["w4"] * 3


def test_fixed_size_trims_to_the_given_size() -> None:
    screen = plates_screen(TRIM)
    rng = ScriptedRng([3, 1, 4, 0])
    out = FixedSizeSmoother(plate_size=4).smooth(screen, rng)
    assert rng.done() and len(rng.calls) == 1  # w4 has exactly 4 rows: no draw
    np.testing.assert_array_equal(out.observations, screen.observations[[0, 1, 3, 4, 12, 13, 14, 15]])
    assert names_of(out) == ["w0"] * 4 + ["w4"] * 4


def test_optimal_size_with_real_generator_matches_choice_calls() -> None:
    screen = plates_screen(TRIM)
    out = OptimalSizeSmoother().smooth(screen, np.random.default_rng(4))
    rng = np.random.default_rng(4)
    first = rng.choice(np.arange(0, 5), 3, replace=False)
    last = rng.choice(np.arange(12, 16), 3, replace=False)
    kept = sorted([*first, 5, 6, 7, 8, 9, 10, *last])
    np.testing.assert_array_equal(out.observations, screen.observations[kept])


# --- NPlatePerCellLineSmoother ---------------------------------------------------------------------


def test_n_plate_per_cell_line_drops_samples_with_few_plates() -> None:
    screen = plates_screen(
        [("s1", "o", 2), ("s0", "p0", 1), ("s1", "q0", 3), ("s0", "p1", 2), ("s0", "p2", 1)],
        observed=["o"],
    )
    out = NPlatePerCellLineSmoother(min_n_cell_line_plates=2).smooth(screen, ScriptedRng())
    # s0 has 3 unobserved plates, s1 one: q0 dropped; the observed plate of s1 stays, last
    assert names_of(out) == ["p0", "p1", "p1", "p2", "o", "o"]
    np.testing.assert_array_equal(out.observations, screen.observations[[2, 6, 7, 8, 0, 1]])


# --- BatchieEnsemblePlateSmoother ------------------------------------------------------------------


def random_plates(seed: int) -> Screen:
    rng = np.random.default_rng(seed)
    plates = [
        (f"s{s}", f"s{s}_p{j}", int(rng.integers(1, 30))) for s in range(4) for j in range(rng.integers(1, 9))
    ]
    return plates_screen(plates, observed=[plates[0][1]])


@pytest.mark.parametrize("seed", range(4))
def test_ensemble_equals_the_four_smoothers_in_turn(seed: int) -> None:
    screen = random_plates(seed)
    out = BatchieEnsemblePlateSmoother(min_size=20, n_iterations=1, min_n_cell_line_plates=2).smooth(
        screen, np.random.default_rng(seed)
    )
    rng = np.random.default_rng(seed)
    step = MergeMinPlateSmoother(20).smooth(screen, rng)
    step = MergeTopBottomPlateSmoother(1).smooth(step, rng)
    step = OptimalSizeSmoother().smooth(step, rng)
    step = NPlatePerCellLineSmoother(2).smooth(step, rng)
    for field in (
        "plate_names",
        "plate_ids",
        "sample_ids",
        "treatment_ids",
        "observations",
        "observation_mask",
    ):
        np.testing.assert_array_equal(getattr(out, field), getattr(step, field), err_msg=field)
    assert out.experiment_space == screen.experiment_space


def test_ensemble_hand_worked() -> None:
    screen = plates_screen([("s0", "a", 1), ("s0", "b", 3), ("s0", "c", 3), ("s0", "d", 4), ("s1", "x", 2)])
    # MergeMin(4): s0 a+b = 4 -> b (4); (3,c)+(4,b) = 7 > 4 stop. s1: one plate.
    # MergeTopBottom(1): s0 c3 b4 d4 -> c into d (7); s1 x alone. Plates b4 d7 x2.
    # OptimalSize: sorted 2 4 7 -> 6 8 7 -> size 4: x dropped, d trimmed to 4 (one draw).
    # NPlatePerCellLine(2): s0 has b and d -> kept.
    rng = ScriptedRng([0, 1, 2, 3])
    out = BatchieEnsemblePlateSmoother(min_size=4, n_iterations=1, min_n_cell_line_plates=2).smooth(
        screen, rng
    )
    assert rng.done()
    # d's rows: c rows 4-6 and d rows 7-10 (screen order), the draw keeps positions 0-3
    np.testing.assert_array_equal(rng.calls[0][1], [4, 5, 6, 7, 8, 9, 10])
    assert names_of(out) == ["b"] * 4 + ["d"] * 4
    np.testing.assert_array_equal(out.observations, screen.observations[[0, 1, 2, 3, 4, 5, 6, 7]])


# --- parameters and registry -----------------------------------------------------------------------


def test_registry_and_defaults() -> None:
    assert list(PLATE_SMOOTHERS) == [
        "MergeMinPlateSmoother",
        "MergeTopBottomPlateSmoother",
        "OptimalSizeSmoother",
        "FixedSizeSmoother",
        "NPlatePerCellLineSmoother",
        "BatchieEnsemblePlateSmoother",
    ]
    assert BatchieEnsemblePlateSmoother() == BatchieEnsemblePlateSmoother(50, 1, 3)
    assert MergeMinPlateSmoother().min_size == 50
    assert NPlatePerCellLineSmoother().min_n_cell_line_plates == 3


@pytest.mark.parametrize(
    ("cls", "kwargs", "field"),
    [
        (MergeMinPlateSmoother, {"min_size": -1}, "min_size"),
        (MergeTopBottomPlateSmoother, {"n_iterations": 1.0}, "n_iterations"),
        (FixedSizeSmoother, {"plate_size": 0}, "plate_size"),
        (NPlatePerCellLineSmoother, {"min_n_cell_line_plates": True}, "min_n_cell_line_plates"),
        (BatchieEnsemblePlateSmoother, {"min_size": "50"}, "min_size"),
    ],
)
def test_bad_parameters_name_the_field(cls: type, kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as info:
        cls(**kwargs)
    assert info.value.field == field
