"""Initial plate and plate generators (spec §7 steps 2–3): hand-worked plates and the exact draw sequence.

``ScriptedRng`` stands in for ``numpy.random.Generator``: each ``permutation``/``choice`` returns the
scripted positions and records its arguments, so a test states both the expected plates and the exact
calls (with their candidate arrays) in the spec's order. Literal loop implementations of the spec
check the vectorised classes against real generators.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from snakelab.batchie.data import Screen
from snakelab.batchie.prepare.initial_plates import SparseCoverPlateGenerator, sparse_cover_rows
from snakelab.batchie.prepare.plate_generators import (
    PairwisePlateGenerator,
    PlatePermutationPlateGenerator,
    SampleSegregatingPermutationPlateGenerator,
)
from snakelab.batchie.prepare.registry import INITIAL_PLATE_GENERATORS, PLATE_GENERATORS
from snakelab.core.errors import InputError


class ScriptedRng:
    """A ``Generator`` stand-in: each call returns scripted positions of its array and is recorded.

    ``permutation(x)`` returns ``x[order]``; ``choice(a, size, replace)`` returns ``a[positions]`` (a
    scalar when ``size`` is None). ``calls`` holds ``(method, array, size, replace)`` tuples.
    """

    def __init__(self, *script: Sequence[int]) -> None:
        self.script = [np.asarray(s, dtype=np.int64) for s in script]
        self.calls: list[tuple[Any, ...]] = []

    def _next(self) -> np.ndarray:
        assert self.script, "more draws than scripted"
        return self.script.pop(0)

    def permutation(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        order = self._next()
        assert sorted(order.tolist()) == list(range(x.size)), "scripted order is not a permutation"
        self.calls.append(("permutation", x.copy(), None, None))
        return x[order]

    def choice(self, a: Any, size: int | None = None, replace: bool = True) -> Any:
        a = np.asarray(a)
        positions = self._next()
        assert positions.size == (1 if size is None else size)
        if not replace:
            assert np.unique(positions).size == positions.size
        self.calls.append(("choice", a.copy(), size, replace))
        return a[positions[0]] if size is None else a[positions]

    def done(self) -> bool:
        return not self.script


def make_screen(
    rows: Sequence[tuple[str, str, str, str]],
    observed: Sequence[bool] | None = None,
    doses: dict[str, float] | None = None,
) -> Screen:
    """A screen of (sample, plate, drug 1, drug 2) rows; ``"-"`` is the control, drugs at dose 1.0."""
    names = np.array([[r[2], r[3]] for r in rows], dtype=str)
    dose = np.where(names == "-", 0.0, 1.0)
    if doses:
        for name, value in doses.items():
            dose[names == name] = value
    n = len(rows)
    return Screen(
        names,
        dose,
        [r[0] for r in rows],
        [r[1] for r in rows],
        np.linspace(0.05, 0.95, n) if n else np.zeros(0),
        np.zeros(n, dtype=bool) if observed is None else np.asarray(observed, dtype=bool),
        control_treatment_name="-",
    )


def random_screen(rng: np.random.Generator, n: int, n_samples: int, n_drugs: int, single: float) -> Screen:
    """Random rows: ``n`` rows over ``n_samples`` samples and ``n_drugs`` drugs; a ``single`` fraction
    has a control slot; one plate per sample and tenth of the rows."""
    drugs = np.array([f"d{i}" for i in range(n_drugs)])
    a = rng.integers(0, n_drugs, n)
    b = (a + 1 + rng.integers(0, n_drugs - 1, n)) % n_drugs
    second = np.where(rng.random(n) < single, "-", drugs[b])
    samples = rng.integers(0, n_samples, n)
    rows = [(f"s{samples[i]}", f"p{samples[i]}_{i % 10}", str(drugs[a[i]]), str(second[i])) for i in range(n)]
    return make_screen(rows)


# --- SparseCoverPlateGenerator ---------------------------------------------------------------------

COVER_ROWS = [
    ("s0", "x", "A", "-"),  # 0
    ("s0", "x", "A", "B"),  # 1
    ("s1", "x", "B", "C"),  # 2
    ("s1", "x", "C", "-"),  # 3
    ("s1", "x", "A", "B"),  # 4
    ("s2", "x", "A", "B"),  # 5
]


def test_sparse_cover_hand_worked() -> None:
    screen = make_screen(COVER_ROWS)  # ids A 0, B 1, C 2, control -1
    # s0: all rows hold uncovered ids -> [0, 1], pick row 1 (covers A, B)
    # s1: rows holding C or -1 -> [2, 3], pick row 2 (covers C)
    # s2: row 5 holds nothing uncovered -> any row of the sample [5]
    # then -1 is uncovered: rows holding it [0, 3], pick row 3
    rng = ScriptedRng([1], [0], [0], [1])
    out = SparseCoverPlateGenerator().generate(screen, rng)
    assert rng.done()
    assert [c[0] for c in rng.calls] == ["choice"] * 4
    for call, candidates in zip(rng.calls, [[0, 1], [2, 3], [5], [0, 3]], strict=True):
        np.testing.assert_array_equal(call[1], candidates)
        assert call[2:] == (1, True)
    np.testing.assert_array_equal(out.observation_mask, [False, True, True, True, False, True])
    u, i = "unobserved_plate", "initial_plate"
    np.testing.assert_array_equal(out.plate_names, [u, i, i, i, u, i])
    np.testing.assert_array_equal(out.observations, screen.observations)
    assert out.experiment_space == screen.experiment_space


def test_sparse_cover_reveal_single_treatment_experiments() -> None:
    screen = make_screen(COVER_ROWS)
    rng = ScriptedRng([1], [0], [0], [1])
    out = SparseCoverPlateGenerator(reveal_single_treatment_experiments=True).generate(screen, rng)
    np.testing.assert_array_equal(out.observation_mask, [True, True, True, True, False, True])


def sparse_cover_literal(ids: np.ndarray, samples: np.ndarray, rng: np.random.Generator) -> set[int]:
    covered: set[int] = set()
    chosen: set[int] = set()

    def pick(candidates: list[int]) -> None:
        row = int(rng.choice(np.array(candidates), size=1)[0])
        chosen.add(row)
        covered.update(int(t) for t in ids[row])

    for s in sorted(set(samples.tolist())):
        rows = [r for r in range(len(samples)) if samples[r] == s]
        pick([r for r in rows if any(int(t) not in covered for t in ids[r])] or rows)
    while set(ids.ravel().tolist()) - covered:
        pick([r for r in range(len(samples)) if any(int(t) not in covered for t in ids[r])])
    return chosen


@pytest.mark.parametrize("seed", range(6))
def test_sparse_cover_equals_literal_loop(seed: int) -> None:
    screen = random_screen(np.random.default_rng(100 + seed), 300, 4, 25, 0.2)
    got = sparse_cover_rows(screen.treatment_ids, screen.sample_ids, np.random.default_rng(seed))
    want = sparse_cover_literal(screen.treatment_ids, screen.sample_ids, np.random.default_rng(seed))
    assert set(np.flatnonzero(got).tolist()) == want
    covered = np.unique(screen.treatment_ids[got])
    np.testing.assert_array_equal(covered, np.unique(screen.treatment_ids))


# --- PlatePermutationPlateGenerator ----------------------------------------------------------------


def test_plate_permutation_shuffles_names_of_unobserved_rows() -> None:
    rows = [
        ("s0", "pA", "A", "B"),
        ("s0", "pA", "A", "B"),
        ("s1", "pO", "A", "B"),  # observed plate
        ("s1", "pB", "A", "B"),
        ("s1", "pC", "A", "B"),
    ]
    screen = make_screen(rows, observed=[False, False, True, False, False])
    rng = ScriptedRng([3, 0, 2, 1])
    out = PlatePermutationPlateGenerator().generate(screen, rng)
    np.testing.assert_array_equal(rng.calls[0][1], ["pA", "pA", "pB", "pC"])
    # unobserved rows 0, 1, 3, 4 (order kept) get names [pC, pA, pB, pA]; observed row 2 last
    np.testing.assert_array_equal(out.plate_names, ["pC", "pA", "pB", "pA", "pO"])
    np.testing.assert_array_equal(out.observations, screen.observations[[0, 1, 3, 4, 2]])
    np.testing.assert_array_equal(out.observation_mask, [False, False, False, False, True])
    np.testing.assert_array_equal(out.plate_ids, [2, 0, 1, 0, 3])


def test_plate_permutation_force_include_keeps_those_plates() -> None:
    rows = [("s0", "pA", "A", "B"), ("s0", "pK", "A", "B"), ("s0", "pB", "A", "B"), ("s0", "pA", "A", "B")]
    screen = make_screen(rows)
    rng = ScriptedRng([2, 1, 0])
    out = PlatePermutationPlateGenerator(force_include_plate_names=["pK"]).generate(screen, rng)
    np.testing.assert_array_equal(rng.calls[0][1], ["pA", "pB", "pA"])
    np.testing.assert_array_equal(out.plate_names, ["pA", "pB", "pA", "pK"])
    np.testing.assert_array_equal(out.observations, screen.observations[[0, 2, 3, 1]])
    assert PlatePermutationPlateGenerator(force_include_plate_names="pK").force_include_plate_names == ["pK"]


def test_plate_permutation_equals_numpy_permutation() -> None:
    screen = random_screen(np.random.default_rng(5), 200, 3, 8, 0.1)
    out = PlatePermutationPlateGenerator().generate(screen, np.random.default_rng(9))
    np.testing.assert_array_equal(out.plate_names, np.random.default_rng(9).permutation(screen.plate_names))
    np.testing.assert_array_equal(out.observations, screen.observations)


# --- PairwisePlateGenerator ------------------------------------------------------------------------

PAIRWISE_ROWS = [
    ("s0", "x", "A", "B"),  # 0: groups (0, 1) -> key (0, 0, 1)
    ("s0", "x", "A", "C"),  # 1: (0, 0)
    ("s0", "x", "A", "-"),  # 2: single
    ("s1", "x", "B", "D"),  # 3: (1, 1)
    ("s1", "x", "C", "D"),  # 4: (0, 1)
    ("s0", "x", "C", "A"),  # 5: (0, 0)
    ("s1", "x", "D", "-"),  # 6: single
    ("s1", "x", "B", "-"),  # 7: single
]


def test_pairwise_without_anchors_hand_worked() -> None:
    screen = make_screen(PAIRWISE_ROWS)  # ids A 0, B 1, C 2, D 3
    # permutation of [0, 1, 2, 3] -> [2, 0, 3, 1]; 4 // 2 = 2 groups: {2, 0} -> 0, {3, 1} -> 1
    # keys sorted: (0,0,0) gp_0, (0,0,1) gp_1, (1,0,1) gp_2, (1,1,1) gp_3
    # single rows: s0 row 2 -> choice of [gp_0, gp_1] picks 1; s1 rows 6, 7 -> [gp_2, gp_3] picks 1, 0
    rng = ScriptedRng([2, 0, 3, 1], [1], [1, 0])
    out = PairwisePlateGenerator(subset_size=2, anchor_size=0).generate(screen, rng)
    assert rng.done()
    np.testing.assert_array_equal(rng.calls[0][1], [0, 1, 2, 3])
    assert [c[0] for c in rng.calls] == ["permutation", "choice", "choice"]
    assert rng.calls[1][2:] == (1, True) and rng.calls[2][2:] == (2, True)
    expected = [1, 0, 1, 3, 2, 0, 3, 2]
    np.testing.assert_array_equal(out.plate_names, [f"generated_plate_{i}" for i in expected])
    np.testing.assert_array_equal(out.plate_ids, expected)
    np.testing.assert_array_equal(out.observations, screen.observations)


def test_pairwise_with_anchors_groups_most_frequent_ids_apart() -> None:
    rows = [
        ("s0", "x", "A", "B"),
        ("s0", "x", "B", "D"),
        ("s0", "x", "B", "D"),
        ("s0", "x", "C", "D"),
        ("s0", "x", "D", "E"),
    ]  # counts over both slots: A 1, B 3, C 1, D 4, E 1
    screen = make_screen(rows)
    # argsort(-counts) = [3, 1, 0, 2, 4]: anchors [3, 1] (D, B), rest [0, 2, 4] (A, C, E)
    # anchors permuted [1, 3] -> 2 // 1 = 2 groups {B} 0, {D} 1; rest permuted [4, 0, 2] -> groups 2, 3, 4
    rng = ScriptedRng([1, 0], [2, 0, 1])
    out = PairwisePlateGenerator(subset_size=1, anchor_size=2).generate(screen, rng)
    np.testing.assert_array_equal(rng.calls[0][1], [3, 1])
    np.testing.assert_array_equal(rng.calls[1][1], [0, 2, 4])
    # groups: A 3, B 0, C 4, D 1, E 2 -> keys (0,3) (0,1) (0,1) (1,4) (1,2) -> sorted idx 1 0 0 3 2
    np.testing.assert_array_equal(out.plate_ids, [1, 0, 0, 3, 2])


def test_pairwise_sample_without_combinations_gets_its_own_plate() -> None:
    rows = [("s0", "x", "A", "B"), ("s1", "x", "A", "-"), ("s1", "x", "B", "-")]
    rng = ScriptedRng([0, 1], [0])
    out = PairwisePlateGenerator(subset_size=2).generate(make_screen(rows), rng)
    assert not rng.done()  # the one-plate choice for s1 is never drawn
    np.testing.assert_array_equal(out.plate_names, ["generated_plate_0"] + ["generated_plate_1"] * 2)


def pairwise_literal(screen: Screen, subset_size: int, anchor_size: int, rng: np.random.Generator) -> list:
    ids = screen.treatment_ids
    combo = np.all(ids >= 0, axis=1)
    distinct, counts = np.unique(ids[combo].ravel(), return_counts=True)
    if anchor_size > 0:
        order = np.argsort(-counts)
        parts = [distinct[order[:anchor_size]], distinct[order[anchor_size:]]]
    else:
        parts = [distinct]
    groups = []
    for part in parts:
        groups += np.array_split(rng.permutation(part), max(len(part) // subset_size, 1))
    group = {int(t): g for g, members in enumerate(groups) for t in members}
    keys = {
        r: (int(screen.sample_ids[r]), *sorted(group[int(t)] for t in ids[r])) for r in np.flatnonzero(combo)
    }
    index = {key: i for i, key in enumerate(sorted(set(keys.values())))}
    names: list = [None] * screen.size
    for r, key in keys.items():
        names[r] = f"generated_plate_{index[key]}"
    for sample in sorted({str(screen.sample_names[r]) for r in np.flatnonzero(~combo)}):
        rows = [r for r in np.flatnonzero(~combo) if screen.sample_names[r] == sample]
        sample_id = int(screen.sample_ids[rows[0]])
        plates = sorted({names[r] for r, key in keys.items() if key[0] == sample_id})
        for r, name in zip(rows, rng.choice(np.array(plates), len(rows), replace=True), strict=True):
            names[r] = str(name)
    return names


@pytest.mark.parametrize(("seed", "subset_size", "anchor_size"), [(0, 1, 0), (1, 2, 0), (2, 1, 3), (3, 3, 4)])
def test_pairwise_equals_literal_loop(seed: int, subset_size: int, anchor_size: int) -> None:
    # 2 samples × up to 45 drug pairs: more than 10 plates per sample, so string order of the names
    # (generated_plate_10 < generated_plate_2) matters for the single-drug choice
    screen = random_screen(np.random.default_rng(50 + seed), 400, 2, 10, 0.25)
    out = PairwisePlateGenerator(subset_size, anchor_size).generate(screen, np.random.default_rng(seed))
    want = pairwise_literal(screen, subset_size, anchor_size, np.random.default_rng(seed))
    assert np.unique(want).size > 10
    np.testing.assert_array_equal(out.plate_names, want)


# --- SampleSegregatingPermutationPlateGenerator ----------------------------------------------------


def test_sample_segregating_hand_worked() -> None:
    samples = ["s0", "s1", "s0", "s2", "s0", "s2", "s0", "s1", "s2", "s0"]
    screen = make_screen([(s, "x", "A", "B") for s in samples])
    # s0 rows [0, 2, 4, 6, 9] (5 > 2): permuted [9, 0, 6, 2, 4] -> ceil(5/2) = 3 plates of 2, 2, 1
    # s1 rows [1, 7] (2 <= 2): one plate, no draw; s2 rows [3, 5, 8]: permuted [8, 3, 5] -> 2, 1
    rng = ScriptedRng([4, 0, 3, 1, 2], [2, 0, 1])
    out = SampleSegregatingPermutationPlateGenerator(max_plate_size=2).generate(screen, rng)
    assert rng.done()
    np.testing.assert_array_equal(rng.calls[0][1], [0, 2, 4, 6, 9])
    np.testing.assert_array_equal(rng.calls[1][1], [3, 5, 8])
    expected = [0, 3, 1, 4, 2, 5, 1, 3, 4, 0]
    np.testing.assert_array_equal(out.plate_names, [f"generated_plate_{i}" for i in expected])
    assert "" not in set(out.plate_names.tolist())


def test_sample_segregating_near_equal_split_and_name_rank() -> None:
    screen = make_screen([("s0", "x", "A", "B")] * 23)
    out = SampleSegregatingPermutationPlateGenerator(max_plate_size=2).generate(
        screen, np.random.default_rng(3)
    )
    perm = np.random.default_rng(3).permutation(np.arange(23))
    want = np.empty(23, dtype=object)
    for idx, part in enumerate(np.array_split(perm, math.ceil(23 / 2))):
        want[part] = f"generated_plate_{idx}"
    np.testing.assert_array_equal(out.plate_names, want.astype(str))
    sizes = np.bincount(out.plate_ids)
    assert sizes.tolist().count(2) == 11 and sizes.tolist().count(1) == 1  # 12 plates: 2 × 11 + 1
    # ids are name ranks: generated_plate_10 sorts before generated_plate_2
    assert out.plate_ids[out.plate_names == "generated_plate_10"][0] == 2


# --- parameters and registry -----------------------------------------------------------------------


def test_registry_names_and_defaults() -> None:
    assert list(INITIAL_PLATE_GENERATORS) == ["SparseCoverPlateGenerator"]
    assert list(PLATE_GENERATORS) == [
        "PlatePermutationPlateGenerator",
        "PairwisePlateGenerator",
        "SampleSegregatingPermutationPlateGenerator",
    ]
    assert PairwisePlateGenerator() == PairwisePlateGenerator(subset_size=20, anchor_size=0)
    assert SparseCoverPlateGenerator().reveal_single_treatment_experiments is False


@pytest.mark.parametrize(
    ("cls", "kwargs", "field"),
    [
        (PairwisePlateGenerator, {"subset_size": 0}, "subset_size"),
        (PairwisePlateGenerator, {"anchor_size": -1}, "anchor_size"),
        (PairwisePlateGenerator, {"subset_size": 2.5}, "subset_size"),
        (SampleSegregatingPermutationPlateGenerator, {"max_plate_size": 0}, "max_plate_size"),
        (
            SparseCoverPlateGenerator,
            {"reveal_single_treatment_experiments": "yes"},
            "reveal_single_treatment_experiments",
        ),
        (PlatePermutationPlateGenerator, {"force_include_plate_names": [1]}, "force_include_plate_names"),
    ],
)
def test_bad_parameters_name_the_field(cls: type, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as info:
        cls(**kwargs)
    assert info.value.field == field
