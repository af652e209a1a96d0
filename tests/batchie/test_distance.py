"""MSEDistance chunks (spec §5, §11.2): equal to a per-pair brute-force loop, chunks tile the matrix."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from snakelab.batchie.demo import demo_screens
from snakelab.batchie.distance import MSEDistance, distance_experiments, mse_distance_chunk
from snakelab.batchie.distance_calculation import ChunkedDistanceMatrix
from snakelab.batchie.models.sparse_combo import StackedThetas, viability
from snakelab.core.errors import InputError


def brute_force(V: np.ndarray, sigmoid: bool) -> np.ndarray:
    """(K, K) dense matrix from a loop over pairs and experiments."""
    K, n = V.shape
    out = np.zeros((K, K))
    for i in range(K):
        for j in range(i):
            total = 0.0
            for e in range(n):
                a, b = (expit(V[i, e]), expit(V[j, e])) if sigmoid else (V[i, e], V[j, e])
                total += (a - b) ** 2
            out[i, j] = out[j, i] = total / n
    return out


def random_thetas(rng: np.random.Generator, K: int, C: int, M: int, D: int) -> StackedThetas:
    return StackedThetas(
        W=rng.normal(size=(K, C, D)),
        W0=rng.normal(size=(K, C)),
        V0=rng.normal(size=(K, M)),
        V1=rng.normal(size=(K, M, D)),
        V2=rng.normal(size=(K, M, D)),
        alpha=rng.normal(size=K),
        precision=rng.uniform(5, 50, size=K),
    )


@pytest.mark.parametrize("n_chunks", [1, 2, 7])
@pytest.mark.parametrize("sigmoid", [True, False])
def test_chunks_equal_brute_force(n_chunks: int, sigmoid: bool) -> None:
    rng = np.random.default_rng(11)
    K, n = 9, 37
    V = np.clip(expit(rng.normal(scale=2.0, size=(K, n))), 0.01, 0.99)
    V[4] = V[2]  # identical thetas: distance exactly representable as 0
    expected = brute_force(V, sigmoid)
    rows, cols, values = [], [], []
    for k in range(n_chunks):
        r, c, v = mse_distance_chunk(V, n_chunks, k, sigmoid=sigmoid)
        assert r.dtype == c.dtype == np.int64 and v.dtype == np.float64
        # pairs of the chunk in linear order q = i(i-1)/2 + j
        q = r * (r - 1) // 2 + c
        assert np.all(np.diff(q) == 1)
        rows.append(r), cols.append(c), values.append(v)
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(values)
    np.testing.assert_array_equal(r * (r - 1) // 2 + c, np.arange(K * (K - 1) // 2))
    assert np.all(v >= 0)
    np.testing.assert_allclose(v, expected[r, c], rtol=0, atol=1e-12)
    dense = ChunkedDistanceMatrix.from_arrays(K, r, c, v).to_dense()
    np.testing.assert_allclose(dense, expected, rtol=0, atol=1e-12)
    assert dense[4, 2] == pytest.approx(0.0, abs=1e-15)


def test_chunk_sizes_and_empty_chunks() -> None:
    V = np.random.default_rng(0).uniform(size=(5, 4))
    sizes = [mse_distance_chunk(V, 3, k)[0].size for k in range(3)]
    assert sizes == [4, 3, 3]
    r, c, _ = mse_distance_chunk(V, 3, 0)
    assert list(zip(r.tolist(), c.tolist(), strict=True)) == [(1, 0), (2, 0), (2, 1), (3, 0)]
    r, c, v = mse_distance_chunk(V[:2], 3, 2)  # one pair, three chunks
    assert (r.size, c.size, v.size) == (0, 0, 0)


def test_single_pair_analytic() -> None:
    V = np.array([[0.2, 0.4], [0.5, 0.1]])
    _, _, v = mse_distance_chunk(V, 1, 0, sigmoid=False)
    assert v[0] == pytest.approx((0.3**2 + 0.3**2) / 2, abs=1e-15)


def test_distance_experiments_masks() -> None:
    _, masked = demo_screens()
    np.testing.assert_array_equal(distance_experiments(masked, "all"), np.ones(12, bool))
    np.testing.assert_array_equal(distance_experiments(masked, "unobserved"), np.arange(12) >= 4)
    with pytest.raises(InputError, match="experiments"):
        distance_experiments(masked, "observed")
    with pytest.raises(InputError, match="experiments"):
        MSEDistance(experiments="some")


@pytest.mark.parametrize(("sigmoid", "experiments"), [(True, "all"), (False, "unobserved")])
@pytest.mark.parametrize("n_chunks", [1, 2, 7])
def test_msedistance_on_screen_equals_brute_force(sigmoid: bool, experiments: str, n_chunks: int) -> None:
    _, masked = demo_screens()
    thetas = random_thetas(np.random.default_rng(3), K=6, C=2, M=2, D=2)
    rows = np.arange(12) if experiments == "all" else np.arange(4, 12)
    V = np.empty((6, rows.size))
    for t in range(6):  # per-theta prediction, no batching
        theta = thetas.theta(t)
        V[t] = theta.predict_viability((masked.sample_ids[rows], masked.treatment_ids[rows]))
    expected = brute_force(V, sigmoid)
    metric = MSEDistance(sigmoid=sigmoid, experiments=experiments)
    chunks = [metric.distance_matrix_chunk(thetas, masked, n_chunks, k) for k in range(n_chunks)]
    dense = ChunkedDistanceMatrix.concat(chunks[::-1]).to_dense()
    np.testing.assert_allclose(dense, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        metric.viabilities(thetas, masked),
        viability(thetas, masked.sample_ids[rows], masked.treatment_ids[rows]),
    )
    # blocks of two experiments (tiny block_mb) give the same distances
    for k in range(n_chunks):
        r, c, v = metric.compute_chunk(thetas, masked, n_chunks, k, block_mb=1e-4)
        np.testing.assert_allclose(v, expected[r, c], rtol=0, atol=1e-12)


def test_unobserved_without_rows_is_an_error() -> None:
    unmasked, _ = demo_screens()
    thetas = random_thetas(np.random.default_rng(0), K=3, C=2, M=2, D=2)
    with pytest.raises(InputError, match="unobserved"):
        MSEDistance(experiments="unobserved").compute_chunk(thetas, unmasked)
