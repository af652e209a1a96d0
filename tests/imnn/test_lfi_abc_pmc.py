"""Rejection ABC in chunks and ABC-PMC (spec §10, §14.9), on models with closed-form posteriors.

The simulators here are NumPy functions of (indices, thetas) whose noise depends on the global
index only, as the pipeline's JAX simulators do (``fold_in(stream_key, j)``)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from snakelab.imnn.lfi import abc, grid, pmc, prior

N_DATA = 10


def _noise(indices: np.ndarray, size: int, seed: int = 77) -> np.ndarray:
    """Standard normal noise (n, size) that depends on (seed, index) only."""
    out = np.empty((len(indices), size))
    blocks = indices // 1024
    for b in np.unique(blocks):
        rows = blocks == b
        out[rows] = np.random.default_rng([seed, int(b)]).standard_normal((1024, size))[indices[rows] % 1024]
    return out


def gaussian_simulate(indices: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    """d = m + √v ε, (n, 10)."""
    return thetas[:, :1] + np.sqrt(thetas[:, 1:2]) * _noise(indices, N_DATA)


def gaussian_compress(data: np.ndarray) -> np.ndarray:
    """Score compression at θ_fid = (0, 1) with F = diag(10, 5): θ̂ = (mean d, mean d²)."""
    return np.column_stack([data.mean(axis=1), (data**2).mean(axis=1)])


GAUSSIAN_F = np.diag([10.0, 5.0])
LOW, HIGH = np.array([-2.0, 0.2]), np.array([2.0, 4.0])


def test_distances_fisher_and_euclidean() -> None:
    summaries = np.array([[1.0, 2.0], [0.0, 0.0]])
    targets = np.array([[0.0, 1.0]])
    np.testing.assert_allclose(abc.distances(summaries, targets, GAUSSIAN_F), [[np.sqrt(15.0), np.sqrt(5.0)]])
    np.testing.assert_allclose(abc.distances(summaries, targets), [[np.sqrt(2.0), 1.0]])


def _chunks(n_chunks: int, n_per_chunk: int, targets: np.ndarray, distance: str = "fisher") -> abc.ABCChunk:
    return abc.concatenate(
        [
            abc.abc_chunk(
                c,
                n_per_chunk,
                3,
                LOW,
                HIGH,
                targets,
                gaussian_simulate,
                gaussian_compress,
                GAUSSIAN_F,
                distance,
                700,
            )
            for c in range(n_chunks)
        ]
    )


def test_abc_chunking_invariance(tmp_path) -> None:
    targets = np.array([[0.5, 1.5], [0.0, 1.0]])
    one = _chunks(1, 3000, targets)
    three = _chunks(3, 1000, targets)
    for a, b in zip(one, three, strict=True):
        np.testing.assert_array_equal(a, b)
    assert one.distances.shape == (2, 3000)
    # files round-trip with exactly the spec's fields
    paths = []
    for c in range(3):
        part = abc.abc_chunk(c, 1000, 3, LOW, HIGH, targets, gaussian_simulate, gaussian_compress, GAUSSIAN_F)
        paths.append(tmp_path / f"abc_chunk_{c:03d}.npz")
        abc.write_chunk(paths[-1], part)
    with np.load(paths[0]) as f:
        assert sorted(f.files) == ["distances", "parameters", "summaries"]
    for a, b in zip(abc.read_chunks(paths), one, strict=True):
        np.testing.assert_array_equal(a, b)
    euclid = _chunks(1, 3000, targets, "euclidean")
    np.testing.assert_array_equal(euclid.parameters, one.parameters)
    diff = one.summaries - targets[0]
    np.testing.assert_allclose(euclid.distances[0], np.hypot(diff[:, 0], diff[:, 1]))


def _analytic_posterior(d: np.ndarray, ranges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and std of (m, v) given data d under the uniform box prior, by grid integration."""
    m, v = np.meshgrid(ranges[0], ranges[1], indexing="ij")
    log_like = -0.5 * N_DATA * np.log(v) - ((d[None, None, :] - m[..., None]) ** 2).sum(-1) / (2 * v)
    post = np.exp(log_like - log_like.max())
    post /= post.sum()
    mean = np.array([(m * post).sum(), (v * post).sum()])
    std = np.sqrt([((m - mean[0]) ** 2 * post).sum(), ((v - mean[1]) ** 2 * post).sum()])
    return mean, std


def test_abc_recovers_the_analytic_posterior(tmp_path) -> None:
    theta_true = np.array([0.5, 1.5])
    d_obs = gaussian_simulate(np.array([10**6 + 3]), theta_true[None])[0]
    target = gaussian_compress(d_obs[None])
    draws = _chunks(4, 10_000, target)
    ranges = grid.grid_ranges(LOW, HIGH, 60)
    result, summary = abc.abc_join(draws, ranges, quantile=0.01, min_accepted=100)
    assert result.n_accepted.tolist() == [400]
    samples = result.samples[0]
    mean, std = _analytic_posterior(d_obs, grid.grid_ranges(LOW, HIGH, 400))
    np.testing.assert_array_less(np.abs(samples.mean(0) - mean), 0.25 * std)
    np.testing.assert_allclose(samples.std(0), std, rtol=0.25)
    np.testing.assert_array_less(np.abs(samples.mean(0) - theta_true), 2 * std)
    # the accepted draws are the 400 closest, sorted by distance; the threshold is the 400th distance
    closest = np.sort(draws.distances[0])[:400]
    np.testing.assert_array_equal(result.distances[0], closest)
    assert result.epsilon[0] == closest[-1]
    assert summary["warnings"] == []
    abc.write_abc(tmp_path / "abc.npz", tmp_path / "abc.json", result, summary)
    saved = json.loads((tmp_path / "abc.json").read_text())
    assert saved["n_accepted"] == [400] and saved["rule"] == "quantile"
    with np.load(tmp_path / "abc.npz") as f:
        assert f["marginals_1d"].shape == (1, 2, 60)
        assert f["marginals_2d"].shape == (1, 1, 60, 60)


@pytest.mark.parametrize(("quantile", "n_draws"), [(0.01, 2000), (0.07, 100), (0.013, 1000), (0.5, 7)])
def test_abc_accepts_ceil_quantile_n(quantile: float, n_draws: int) -> None:
    rng = np.random.default_rng(2)
    draws = abc.ABCChunk(
        rng.uniform(0, 1, (n_draws, 2)), rng.uniform(0, 1, (n_draws, 2)), rng.exponential(1, (3, n_draws))
    )
    ranges = grid.grid_ranges(np.zeros(2), np.ones(2), 10)
    result, _ = abc.abc_join(draws, ranges, quantile=quantile, min_accepted=0)
    k = {(0.01, 2000): 20, (0.07, 100): 7, (0.013, 1000): 13, (0.5, 7): 4}[(quantile, n_draws)]
    assert result.n_accepted.tolist() == [k, k, k]
    assert k == math.ceil(quantile * n_draws - 1e-9)


def test_abc_epsilon_rule_and_min_accepted_warning(tmp_path, caplog) -> None:
    distances = np.array([[0.1, 0.5, 0.2, 0.9], [2.0, 3.0, 4.0, 0.3]])
    parameters = np.array([[0.1, 0.1], [0.2, 0.2], [0.3, 0.3], [0.4, 0.4]])
    draws = abc.ABCChunk(parameters, parameters, distances)
    ranges = grid.grid_ranges(np.zeros(2), np.ones(2), 11)
    result, summary = abc.abc_join(draws, ranges, epsilon=0.5, min_accepted=2)
    assert result.n_accepted.tolist() == [3, 1]
    np.testing.assert_array_equal(result.samples[0], parameters[[0, 2, 1]])
    assert np.isnan(result.samples[1, 1:]).all()
    assert summary["rule"] == "epsilon" and summary["epsilon"] == [0.5, 0.5]
    assert summary["warnings"] == ["target 1: 1 accepted draws < min_accepted = 2"]
    assert "min_accepted" in caplog.text
    none, summary = abc.abc_join(draws, ranges, epsilon=0.01, min_accepted=1)
    assert none.n_accepted.tolist() == [0, 0] and len(summary["warnings"]) == 2
    assert not none.marginals_1d.any()


def test_weighted_covariance_is_mean_centred() -> None:
    equal = np.ones(2)
    assert pmc.weighted_covariance(np.array([[0.0], [2.0]]), equal)[0, 0] == pytest.approx(1.0)
    shifted = np.array([[100.0], [102.0]])
    assert pmc.weighted_covariance(shifted, equal)[0, 0] == pytest.approx(1.0)
    # the reference's Σ(wθ)(wθ)ᵀ/Σw² is not centred: it changes with the shift
    w_theta = equal[:, None] * shifted
    reference = w_theta.T @ w_theta / equal.sum() ** 2
    assert reference[0, 0] == pytest.approx(5101.0)
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(50, 3)) + 7.0
    weights = rng.uniform(size=50)
    np.testing.assert_allclose(
        pmc.weighted_covariance(samples, weights), np.cov(samples, rowvar=False, aweights=weights, bias=True)
    )


def test_pmc_weights_brute_force() -> None:
    rng = np.random.default_rng(4)
    old = rng.normal(size=(6, 2))
    old_w = rng.uniform(size=6)
    new = rng.uniform(-1, 1, size=(5, 2))
    new[4] = [5.0, 0.0]  # outside the box: weight 0
    cov = np.array([[0.5, 0.1], [0.1, 0.3]])
    low, high = np.array([-2.0, -2.0]), np.array([2.0, 2.0])
    got = pmc.pmc_weights(new, old, old_w, cov, low, high)
    brute = np.array(
        [
            (1 / 16 if np.all(np.abs(x) <= 2) else 0.0)
            / sum(
                w * stats.multivariate_normal(mu, cov).pdf(x)
                for mu, w in zip(old, old_w / old_w.sum(), strict=True)
            )
            for x in new
        ]
    )
    np.testing.assert_allclose(got, brute / brute.sum(), rtol=1e-10)
    assert got[4] == 0.0


def mean_simulate(indices: np.ndarray, thetas: np.ndarray) -> np.ndarray:
    """d ~ N(μ, 1)^10."""
    return thetas[:, :1] + _noise(indices, N_DATA, seed=8)


def mean_compress(data: np.ndarray) -> np.ndarray:
    return data.mean(axis=1, keepdims=True)


def test_pmc_recovers_the_mean_posterior(tmp_path) -> None:
    low, high = np.array([-3.0]), np.array([3.0])
    target = np.array([[0.3]])
    result = pmc.pmc(
        target,
        low,
        high,
        mean_simulate,
        mean_compress,
        seed=1,
        fisher=np.array([[10.0]]),
        n_points=1000,
        n_initial=5000,
        batch=1000,
    )
    w = result.weights[0]
    assert w.sum() == pytest.approx(1.0)
    assert (w >= 0).all()
    mean = float((w * result.samples[0, :, 0]).sum())
    std = float(np.sqrt(pmc.weighted_covariance(result.samples[0], w)[0, 0]))
    assert abs(mean - 0.3) < 0.05
    assert std == pytest.approx(1 / np.sqrt(10), rel=0.15)
    n_it = int(result.iterations[0])
    eps = result.epsilons[0, :n_it]
    assert n_it >= 2
    assert (np.diff(eps) <= 0).all()
    assert np.isnan(result.epsilons[0, n_it:]).all()
    acceptance = result.acceptance[0, :n_it]
    assert result.stop_reason[0] in ("acceptance_ratio", "max_iterations")
    if result.stop_reason[0] == "acceptance_ratio":
        assert acceptance[-1] <= 0.1 and (acceptance[:-1] > 0.1).all()
    assert (result.n_simulations[0, :n_it] % 1000 == 0).all() and (
        result.n_simulations[0, :n_it] >= 1000
    ).all()
    assert result.n_initial_simulations == 5000
    assert (result.distances[0] <= eps[-1]).all()
    ranges = grid.grid_ranges(low, high, 50)
    pmc.write_pmc(tmp_path / "pmc.npz", result, ranges)
    with np.load(tmp_path / "pmc.npz") as f:
        assert {"samples", "weights", "distances", "epsilons", "acceptance", "n_simulations"} <= set(f.files)
        assert f["samples"].shape == (1, 1000, 1)
        assert f["marginals_1d"].shape == (1, 1, 50)
        assert f["stop_reason"].dtype.kind == "U"


def test_pmc_from_abc_draws_and_simulation_budget() -> None:
    targets = np.array([[0.5, 1.5], [0.0, 1.0]])
    draws = _chunks(1, 2000, targets)
    kwargs = dict(
        seed=2, fisher=GAUSSIAN_F, initial=(draws.parameters, draws.distances), n_points=200, batch=200
    )
    start = pmc.pmc(targets, LOW, HIGH, gaussian_simulate, gaussian_compress, max_simulations=100, **kwargs)
    # a budget below one batch completes no iteration: the initial population is the 200 closest ABC draws
    assert start.iterations.tolist() == [0, 0] and start.n_initial_simulations == 0
    for t in range(2):
        order = np.argsort(draws.distances[t], kind="stable")[:200]
        np.testing.assert_array_equal(start.distances[t], draws.distances[t, order])
        np.testing.assert_array_equal(start.samples[t], draws.parameters[order])
        np.testing.assert_allclose(start.weights[t], 1 / 200)
    budget = pmc.pmc(targets, LOW, HIGH, gaussian_simulate, gaussian_compress, max_simulations=3000, **kwargs)
    for t in range(2):
        n_it = int(budget.iterations[t])
        assert n_it >= 1
        assert budget.n_simulations[t].sum() <= 3000
        assert budget.stop_reason[t] == "max_simulations"
        assert budget.weights[t].sum() == pytest.approx(1.0)
        assert prior.in_box(budget.samples[t], LOW, HIGH).all()
        assert (budget.distances[t] <= budget.epsilons[t, n_it - 1]).all()
    full = pmc.pmc(targets, LOW, HIGH, gaussian_simulate, gaussian_compress, max_iterations=3, **kwargs)
    for t in range(2):
        n_it = int(full.iterations[t])
        assert 1 <= n_it <= 3
        assert (np.diff(full.epsilons[t, :n_it]) <= 0).all()
        assert full.weights[t].sum() == pytest.approx(1.0)
        assert (full.distances[t] <= full.epsilons[t, n_it - 1]).all()
    # the same call gives the same bytes
    again = pmc.pmc(targets, LOW, HIGH, gaussian_simulate, gaussian_compress, max_iterations=3, **kwargs)
    for a, b in zip(full, again, strict=True):
        np.testing.assert_array_equal(a, b)
