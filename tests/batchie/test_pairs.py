"""Strictly-lower-triangular pair arithmetic (spec §2.3): linear index, unranking, chunk ranges."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from snakelab.batchie.pairs import chunk_pair_range, n_pairs, pair_index, unrank_pairs


def row_major_pairs(size: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(size) for j in range(i)]


def test_n_pairs() -> None:
    assert [n_pairs(k) for k in range(7)] == [0, 0, 1, 3, 6, 10, 15]
    assert n_pairs(400) == 79_800
    assert n_pairs(2_000) == 1_999_000
    with pytest.raises(ValueError):
        n_pairs(-1)


def test_pair_index_enumerates_row_major() -> None:
    pairs = np.array(row_major_pairs(40))
    q = pair_index(pairs[:, 0], pairs[:, 1])
    assert q.dtype == np.int64
    np.testing.assert_array_equal(q, np.arange(n_pairs(40)))
    assert pair_index(1, 0) == 0 and pair_index(3, 0) == 3 and pair_index(3, 2) == 5


def test_unrank_inverts_pair_index_for_every_pair() -> None:
    i, j = unrank_pairs(np.arange(n_pairs(300)))
    assert i.dtype == j.dtype == np.int64
    np.testing.assert_array_equal(np.stack([i, j], axis=1), row_major_pairs(300))
    i, j = unrank_pairs(np.int64(4))
    assert (i.shape, int(i), int(j)) == ((), 3, 1)
    assert unrank_pairs(np.zeros(0, dtype=np.int64))[0].shape == (0,)


def isqrt_unrank(q: int) -> tuple[int, int]:
    i = (1 + math.isqrt(1 + 8 * q)) // 2
    return i, q - i * (i - 1) // 2


def test_unrank_is_exact_for_large_indices() -> None:
    # pair-row boundaries around and far beyond 2e9, where a float square root alone goes wrong
    rows = np.array([63_245, 63_246, 2**31, 10**8, 10**9, 2**29 + 12_345, 1_518_500_250], dtype=np.int64)
    starts = rows * (rows - 1) // 2
    q = np.concatenate([starts - 1, starts, starts + 1, starts + rows - 1])
    q = np.concatenate([q, np.random.default_rng(0).integers(0, 2**60, size=5_000)])
    q = q[q >= 0]
    i, j = unrank_pairs(q)
    expected = np.array([isqrt_unrank(int(v)) for v in q])
    np.testing.assert_array_equal(np.stack([i, j], axis=1), expected)
    assert np.all((i > j) & (j >= 0))
    np.testing.assert_array_equal(pair_index(i, j), q)


def test_unrank_rejects_negative_indices() -> None:
    with pytest.raises(ValueError):
        unrank_pairs(np.array([3, -1]))


def test_chunk_ranges_of_the_acceptance_example() -> None:
    # n = 5 thetas, 3 chunks: P = 10, b = 3, r = 1 -> sizes 4, 3, 3
    assert [chunk_pair_range(5, 3, k) for k in range(3)] == [(0, 4), (4, 7), (7, 10)]
    i, j = unrank_pairs(np.arange(*chunk_pair_range(5, 3, 0)))
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [(1, 0), (2, 0), (2, 1), (3, 0)]


@pytest.mark.parametrize(("size", "n_chunks"), [(0, 1), (1, 3), (2, 3), (5, 1), (5, 10), (13, 7), (400, 50)])
def test_chunk_ranges_partition_the_pairs(size: int, n_chunks: int) -> None:
    total = n_pairs(size)
    ranges = [chunk_pair_range(size, n_chunks, k) for k in range(n_chunks)]
    assert ranges[0][0] == 0 and ranges[-1][1] == total
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    b, r = divmod(total, n_chunks)
    assert [stop - start for start, stop in ranges] == [b + 1] * r + [b] * (n_chunks - r)


def test_chunk_range_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        chunk_pair_range(5, 0, 0)
    with pytest.raises(ValueError):
        chunk_pair_range(5, 3, 3)
    with pytest.raises(ValueError):
        chunk_pair_range(5, 3, -1)
