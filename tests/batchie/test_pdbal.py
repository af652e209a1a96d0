"""PDBAL scores (spec §6, §11.3): direct triple loops, fast = general path, the exact integral, unranking."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from snakelab.batchie.demo import demo_screens
from snakelab.batchie.models.sparse_combo import StackedThetas, conditional_mean
from snakelab.batchie.scoring.pdbal import (
    GaussianDBALScorer,
    logsumexp,
    n_triples,
    score_plates,
    select_triples,
    triple_log_distances,
    unrank_triples,
)
from snakelab.core.errors import InputError
from snakelab.core.seeds import rng as seeded_rng


def direct_scores(mu, v, plates, D, triples, factor, exact):
    """Per plate: logsumexp over triples of Σ_e (lnrm_e + ll_e) + ld, by explicit loops (v is (K, n))."""
    out = []
    for rows in plates:
        terms = []
        for i, j, k in zip(*triples, strict=True):
            total = 0.0
            for e in rows:
                vi, vj, vk = v[i, e], v[j, e], v[k, e]
                alpha = vi * vj + vj * vk + vi * vk
                q = (
                    vk * (mu[i, e] - mu[j, e]) ** 2
                    + vj * (mu[i, e] - mu[k, e]) ** 2
                    + vi * (mu[j, e] - mu[k, e]) ** 2
                )
                ll = -q / (2 * alpha) if exact else -0.5 * vi * vj * vk / alpha**2 * q
                total += ll + 0.5 * math.log(1 / alpha)
            dsum = D[i, j] + D[j, k] + D[i, k]
            total += factor * math.log(dsum) if dsum > 0 else -math.inf
            terms.append(total)
        top = max(terms)
        out.append(top + math.log(sum(math.exp(t - top) for t in terms)) if top > -math.inf else -math.inf)
    return np.array(out)


def random_case(seed: int, K: int, constant_variance: bool):
    rng = np.random.default_rng(seed)
    n_plates = int(rng.integers(3, 7))
    sizes = rng.integers(1, 8, size=n_plates)
    n = int(sizes.sum()) + 3  # a few columns no plate uses
    mu = rng.normal(scale=1.5, size=(K, n))
    v = rng.uniform(0.05, 0.8, size=K)
    v_full = np.repeat(v[:, None], n, axis=1) if constant_variance else rng.uniform(0.05, 0.8, size=(K, n))
    perm = rng.permutation(n)
    bounds = np.cumsum(sizes)[:-1]
    plates = [np.sort(p) for p in np.split(perm[: sizes.sum()], bounds)]
    X = rng.uniform(size=(K, 4))
    D = ((X[:, None, :] - X[None, :, :]) ** 2).mean(axis=2)
    return mu, v, v_full, plates, D


@pytest.mark.parametrize("K", [3, 5, 8])
@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("max_triples", [None, 4])
@pytest.mark.parametrize("constant_variance", [True, False])
def test_scores_equal_direct_loop(
    K: int, exact: bool, max_triples: int | None, constant_variance: bool
) -> None:
    for seed in range(3):
        mu, v, v_full, plates, D = random_case(100 * K + seed, K, constant_variance)
        triples = select_triples(K, max_triples, np.random.default_rng(seed))
        expected_count = n_triples(K) if max_triples is None else min(max_triples, n_triples(K))
        assert triples[0].size == expected_count
        factor = 1.0 if seed == 0 else 0.7
        expected = direct_scores(mu, v_full, plates, D, triples, factor, exact)
        v_arg = v if constant_variance else v_full
        got = score_plates(mu, v_arg, plates, D, triples, distance_factor=factor, exact=exact, max_chunk=2)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("exact", [False, True])
def test_fast_path_equals_general_path(exact: bool) -> None:
    mu, v, v_full, plates, D = random_case(7, 8, constant_variance=True)
    triples = select_triples(8, None, np.random.default_rng(0))
    fast = score_plates(mu + 40.0, v, plates, D, triples, exact=exact)
    general = score_plates(mu + 40.0, v_full, plates, D, triples, exact=exact)
    np.testing.assert_allclose(fast, general, rtol=0, atol=1e-10)
    # plates per memory block do not change values
    one_by_one = score_plates(mu + 40.0, v, plates, D, triples, exact=exact, max_chunk=1)
    np.testing.assert_allclose(fast, one_by_one, rtol=0, atol=1e-12)


def test_exact_single_experiment_equals_gaussian_triple_integral() -> None:
    mu = np.array([[0.3], [-0.4], [1.1]])
    v = np.array([0.5, 0.2, 0.9])
    D = np.array([[0.0, 0.2, 0.5], [0.2, 0.0, 0.3], [0.5, 0.3, 0.0]])
    triples = select_triples(3, None, np.random.default_rng(0))
    got = score_plates(mu, v, [np.array([0])], D, triples, exact=True)[0]
    precision = float(np.sum(1 / v))
    centre = float(np.sum(mu[:, 0] / v) / precision)
    width = 40 / math.sqrt(precision)

    def integrand(y: float) -> float:
        return float(np.prod(norm.pdf(y, loc=mu[:, 0], scale=np.sqrt(v))))

    integral, _ = quad(integrand, centre - width, centre + width, epsabs=0, epsrel=1e-13, limit=200)
    expected = math.log(0.2 + 0.3 + 0.5) + math.log(integral) + math.log(2 * math.pi)
    assert got == pytest.approx(expected, abs=1e-8)
    # the default keeps the reference's extra factor v_i v_j v_k / α in the exponent
    alpha = v[0] * v[1] + v[1] * v[2] + v[0] * v[2]
    q = v[2] * (0.3 + 0.4) ** 2 + v[1] * (0.3 - 1.1) ** 2 + v[0] * (-0.4 - 1.1) ** 2
    reference = math.log(1.0) - 0.5 * math.log(alpha) - 0.5 * np.prod(v) / alpha**2 * q
    default = score_plates(mu, v, [np.array([0])], D, triples)[0]
    assert default == pytest.approx(reference, abs=1e-12)


def test_unranking_matches_sorted_descending_triples() -> None:
    K = 12
    expected = sorted((i, j, k) for i in range(K) for j in range(i) for k in range(j))
    i, j, k = unrank_triples(np.arange(n_triples(K)))
    assert list(zip(i.tolist(), j.tolist(), k.tolist(), strict=True)) == expected
    ranks = np.array([t[0] * (t[0] - 1) * (t[0] - 2) // 6 + t[1] * (t[1] - 1) // 2 + t[2] for t in expected])
    np.testing.assert_array_equal(ranks, np.arange(220))


def test_unranking_large_ranks_exact() -> None:
    K = 2000
    ranks = np.array([0, 1, n_triples(K) - 1, 123_456_789])
    i, j, k = unrank_triples(ranks)
    assert (i[2], j[2], k[2]) == (K - 1, K - 2, K - 3)
    recomputed = i * (i - 1) * (i - 2) // 6 + j * (j - 1) // 2 + k
    np.testing.assert_array_equal(recomputed, ranks)
    assert np.all((i > j) & (j > k) & (k >= 0))


def test_select_triples_sampling() -> None:
    i, j, k = select_triples(6, 20, np.random.default_rng(1))  # C(6, 3) = 20: all, rank order
    np.testing.assert_array_equal(i * (i - 1) * (i - 2) // 6 + j * (j - 1) // 2 + k, np.arange(20))
    i, j, k = select_triples(100, 5000, seeded_rng(0, 0, 2, 0))
    ranks = seeded_rng(0, 0, 2, 0).choice(161_700, size=5000, replace=False)
    np.testing.assert_array_equal(i * (i - 1) * (i - 2) // 6 + j * (j - 1) // 2 + k, ranks)
    assert len(set(zip(i.tolist(), j.tolist(), k.tolist(), strict=True))) == 5000
    with pytest.raises(InputError, match="at least 3"):
        select_triples(2, None, np.random.default_rng(0))


def test_logsumexp_and_log_distances() -> None:
    x = np.array([[-np.inf, -np.inf], [1000.0, 1000.0], [-np.inf, 0.0]])
    np.testing.assert_allclose(logsumexp(x, axis=1), [-np.inf, 1000.0 + math.log(2), 0.0])
    D = np.zeros((3, 3))
    assert triple_log_distances(D, (np.array([2]), np.array([1]), np.array([0])))[0] == -np.inf
    mu = np.zeros((3, 2))
    score = score_plates(mu, np.ones(3), [np.array([0, 1])], D, select_triples(3, None, None))
    assert score[0] == -np.inf


def test_scorer_on_screen_uses_conditional_means() -> None:
    _, masked = demo_screens()
    rng = np.random.default_rng(5)
    K = 6
    thetas = StackedThetas(
        W=rng.normal(size=(K, 2, 2)),
        W0=rng.normal(size=(K, 2)),
        V0=rng.normal(size=(K, 2)),
        V1=rng.normal(size=(K, 2, 2)),
        V2=rng.normal(size=(K, 2, 2)),
        alpha=rng.normal(size=K),
        precision=rng.uniform(5, 50, size=K),
    )
    X = rng.uniform(size=(K, 3))
    D = ((X[:, None] - X[None]) ** 2).sum(-1)
    plate_rows = [np.array([4, 5]), np.array([8, 9, 10])]
    scorer = GaussianDBALScorer(max_triples=7, exact=True)
    got = scorer.score(
        masked, np.array([1, 3]), plate_rows, stacked=thetas, distance=D, seed=3, rep=1, iteration=2
    )
    mu = conditional_mean(thetas, masked.sample_ids, masked.treatment_ids)
    v = np.repeat((1 / thetas.precision)[:, None], 12, axis=1)
    triples = select_triples(K, 7, seeded_rng(3, 1, 2, 2))
    expected = direct_scores(mu, v, plate_rows, D, triples, 1.0, True)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)
    with pytest.raises(InputError, match="distance_matrix"):
        scorer.score(masked, np.array([1]), plate_rows[:1], stacked=thetas, distance=D[:5, :5])


def test_parameter_validation() -> None:
    for bad in ({"max_triples": 0}, {"max_chunk": 0}, {"distance_factor": float("nan")}, {"exact": 1}):
        with pytest.raises(InputError, match=next(iter(bad))):
            GaussianDBALScorer(**bad)
    assert GaussianDBALScorer(max_triples=None).max_triples is None


def test_combinations_cover_all_triples() -> None:
    i, j, k = select_triples(7, None, None)
    assert sorted(zip(k.tolist(), j.tolist(), i.tolist(), strict=True)) == list(combinations(range(7), 3))
