"""Batch conditioning, scorers on a screen, KPerSamplePlatePolicy and selection (spec §6, §11.4)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from snakelab.batchie.data import Screen
from snakelab.batchie.policy import POLICIES, KPerSamplePlatePolicy, select_plate, select_step
from snakelab.batchie.scoring.batch import (
    candidate_plate_ids,
    chunk_plate_ids,
    joint_plate_rows,
    score_chunk,
)
from snakelab.batchie.scoring.main import ChunkedScoresHolder
from snakelab.batchie.scoring.registry import DISTANCE_METRICS, SCORERS
from snakelab.batchie.scoring.simple import RandomScorer, SizeScorer
from snakelab.core.errors import InputError
from snakelab.core.seeds import rng as seeded_rng

# row: (plate, sample, treatment 1, treatment 2); "ctrl" at dose 0 is a control slot
JOINT_ROWS = [
    ("P1", "s0", "d0", "d1"),  # 0
    ("S", "s0", "d2", "d3"),  # 1
    ("P1", "s0", "d2", "d3"),  # 2  same condition as row 1
    ("S", "s0", "d0", "d1"),  # 3  same condition as row 0
    ("P1", "s0", "d1", "d0"),  # 4  ordered pair differs from row 0
    ("P2", "s0", "d0", "d1"),  # 5
    ("P2", "s0", "d0", "d1"),  # 6  same condition as row 5
    ("S", "s0", "d0", "d2"),  # 7
    ("P2", "s1", "d0", "d2"),  # 8  other sample than row 7
    ("O", "s0", "d0", "d2"),  # 9  observed plate: never part of a joint plate
    ("P2", "s1", "d3", "ctrl"),  # 10
]


def joint_screen() -> Screen:
    plates, samples, t1, t2 = (list(c) for c in zip(*JOINT_ROWS, strict=True))
    names = np.array([t1, t2]).T
    doses = np.where(names == "ctrl", 0.0, 1.0)
    observed = np.array(plates) == "O"
    return Screen(names, doses, samples, plates, np.linspace(0.1, 0.9, 11), observed)


def test_plate_ids_of_the_joint_screen() -> None:
    screen = joint_screen()
    np.testing.assert_array_equal(screen.plate_ids, [1, 3, 1, 3, 1, 2, 2, 3, 2, 0, 2])  # O, P1, P2, S
    np.testing.assert_array_equal(candidate_plate_ids(screen), [1, 2, 3])
    np.testing.assert_array_equal(candidate_plate_ids(screen, [3]), [1, 2])
    assert [chunk_plate_ids(screen, [3], 3, k).tolist() for k in range(3)] == [[1], [2], []]


def test_joint_plate_rows_drop_duplicate_conditions() -> None:
    screen = joint_screen()
    first, second = joint_plate_rows(screen, [1, 2], [3])
    np.testing.assert_array_equal(first, [0, 1, 4, 7])
    np.testing.assert_array_equal(second, [1, 3, 7, 8, 10])
    # order of the requested ids is kept
    swapped = joint_plate_rows(screen, [2, 1], [3])
    np.testing.assert_array_equal(swapped[0], second)
    np.testing.assert_array_equal(swapped[1], first)
    # j = 0: own rows, no deduplication (row 6 repeats row 5's condition)
    own = joint_plate_rows(screen, [1, 2], [])
    np.testing.assert_array_equal(own[0], [0, 2, 4])
    np.testing.assert_array_equal(own[1], [5, 6, 8, 10])
    ids, sizes = score_chunk(screen, SizeScorer(), [3])
    np.testing.assert_array_equal(ids, [1, 2])
    np.testing.assert_array_equal(sizes, [4.0, 5.0])
    ids, sizes = score_chunk(screen, SizeScorer(), None)
    np.testing.assert_array_equal(ids, [1, 2, 3])
    np.testing.assert_array_equal(sizes, [3.0, 4.0, 3.0])
    with pytest.raises(InputError, match="batch_plate_ids"):
        joint_plate_rows(screen, [1], [7])


def test_random_scorer_is_independent_of_chunking() -> None:
    screen = joint_screen()
    u = seeded_rng(4, 1, 3, 2, 1).random(4)
    context = {"seed": 4, "rep": 1, "iteration": 2, "plate": 1}
    ids, scores = score_chunk(screen, RandomScorer(), [3], 1, 0, **context)
    np.testing.assert_array_equal(ids, [1, 2])
    np.testing.assert_array_equal(scores, u[[1, 2]])
    parts = [score_chunk(screen, RandomScorer(), [3], 3, k, **context) for k in range(3)]
    np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), u[[1, 2]])
    assert parts[2][0].size == 0


def test_registries() -> None:
    assert sorted(SCORERS) == ["GaussianDBALScorer", "RandomScorer", "SizeScorer"]
    assert sorted(DISTANCE_METRICS) == ["MSEDistance"]
    assert sorted(POLICIES) == ["KPerSamplePlatePolicy"]


# one-row, one-sample plates p0..p9 (ids 0..9) and an observed plate z (id 10)
POLICY_SAMPLES = ["s0", "s2", "s0", "s1", "s2", "s1", "s2", "s0", "s2", "s3", "s3"]


def policy_screen() -> Screen:
    plates = [f"p{i}" for i in range(10)] + ["z"]
    names = np.array([["d0", "d1"]] * 11)
    observed = np.arange(11) == 10
    return Screen(names, np.ones((11, 2)), POLICY_SAMPLES, plates, np.full(11, 0.5), observed)


@pytest.mark.parametrize(
    ("k", "batch", "eligible"),
    [
        (2, [], [0, 1, 2, 3, 4, 5, 6, 7, 8]),  # s3 has one unobserved plate (< k)
        (4, [], [1, 4, 6, 8]),  # only s2 has 4 plates
        (2, [1], [4, 6, 8]),  # s2 picked once: forced
        (2, [1, 4], [0, 2, 3, 5, 7]),  # s2 complete: excluded
        (2, [1, 4, 3, 5], [0, 2, 7]),
        (2, [1, 4, 3, 5, 0, 2], []),  # only s3 left, which has < k plates
        (3, [0, 1, 2], [4, 6, 8]),  # s0 (2 picks) and s2 (1 pick) open: s2 appears last
        (3, [2, 1, 0], [4, 6, 8]),  # the batch is id-sorted first
        (3, [3, 5], []),  # s1 forced but has no plate left
    ],
)
def test_k_per_sample_policy(k: int, batch: list[int], eligible: list[int]) -> None:
    screen = policy_screen()
    candidates = candidate_plate_ids(screen, batch)
    got = KPerSamplePlatePolicy(k).eligible(screen, candidates, batch)
    assert got.tolist() == eligible


def test_k_per_sample_policy_needs_one_sample_plates() -> None:
    with pytest.raises(InputError, match="one-sample plates"):
        KPerSamplePlatePolicy(2).eligible(joint_screen(), [1, 2], [])
    with pytest.raises(InputError, match="k"):
        KPerSamplePlatePolicy(0)


def test_selection_with_policy_and_fallback(caplog: pytest.LogCaptureFixture) -> None:
    screen = policy_screen()
    scores = ChunkedScoresHolder.from_arrays(
        np.arange(10), [0.5, 0.1, 0.9, 0.8, 0.3, 0.2, 0.3, 0.05, 0.4, 0.0]
    )
    policy = KPerSamplePlatePolicy(2)
    assert select_step(screen, scores, [], policy) == 7  # s3's plate 9 scores 0.0 but is excluded
    assert select_step(screen, scores, [1], policy) == 4  # forced s2: 4 (0.3) before 6 (0.3) on the tie
    assert select_step(screen, scores, [], None) == 9
    batch = [1, 4, 3, 5, 0, 2]
    with caplog.at_level(logging.WARNING, logger="snakelab.batchie"):
        assert select_step(screen, scores, batch, policy, "unrestricted") == 9
    assert "no eligible plate" in caplog.text
    assert select_step(screen, scores, batch, policy, "stop") == -1
    assert select_step(screen, scores, list(range(10)), policy) == -1  # nothing left at all


def test_select_plate_ties_missing_and_duplicates() -> None:
    ids = np.array([5, 2, 9, 3])
    values = np.array([0.2, 0.7, 0.2, 0.2])
    assert select_plate((ids, values), [2, 3, 5, 9]) == 3
    assert select_plate((ids, values), [9, 5]) == 5
    assert select_plate((ids, values), [2]) == 2
    holder = ChunkedScoresHolder.concat(
        [
            ChunkedScoresHolder.from_arrays([5, 2], [0.2, 0.7]),
            ChunkedScoresHolder.from_arrays([9, 3], [0.2, 0.2]),
        ]
    )
    assert select_plate(holder, [2, 3, 5, 9]) == 3
    with pytest.raises(InputError, match=r"missing ids \[4, 7\]"):
        select_plate((ids, values), [2, 4, 7])
    with pytest.raises(InputError, match=r"duplicated ids \[5\]"):
        select_plate((np.array([5, 5]), np.array([0.1, 0.2])), [5])
    with pytest.raises(InputError, match="policy_fallback"):
        select_plate((ids, values), [2], fallback="random")
    assert select_plate((ids, values), [], [], "unrestricted") == -1
    assert select_plate((ids, values), [], [2, 9]) == 9
