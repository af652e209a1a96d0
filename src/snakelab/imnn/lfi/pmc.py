"""ABC population Monte Carlo (spec §10), one job for all targets, iterations sequential.

Per target: the initial population is the ``n_points`` closest of a set of draws (the ABC draws, or
``n_initial`` fresh prior draws), weights uniform. Iteration t: ϵ_t = ``quantile``-th percentile of
the current distances; Σ_t = ``proposal_scale`` × the mean-centred weighted covariance; proposals
j ∝ w, θ* ~ N(θ_j, Σ_t), with both j and θ* redrawn while θ* is outside the box (not counted as a
simulation); proposals are simulated and compressed in vectorised batches of ``batch`` and accepted if
ρ* ≤ ϵ_t, in order, until ``n_points`` are accepted. New weights w* = π(θ*) / Σ_j w_j N(θ*; θ_j, Σ_t),
normalised. Stop after an iteration whose acceptance rate (accepted / simulated) is ≤
``acceptance_ratio``, after ``max_iterations``, or when the next batch would pass ``max_simulations``
(the unfinished iteration is dropped, the last complete population kept).

Callables as in :mod:`.abc`: ``simulate(indices, thetas)`` and ``compress(data)``. Indices are global
simulation numbers of the ``pmc`` stream: fresh initial draws use 0 … n_initial − 1 (shared by all
targets); target t's proposals use n_initial + t·max_simulations + s for its s-th simulation, so a
target's result does not depend on the other targets. All indices are below 2³².
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from snakelab.core.atomic import atomic_path
from snakelab.core.progress import progress
from snakelab.core.seeds import rng
from snakelab.imnn.lfi.abc import Compress, Simulate, summarise
from snakelab.imnn.lfi.distance import distance_metric, distances
from snakelab.imnn.lfi.grid import histogram_marginals, parameter_pairs
from snakelab.imnn.lfi.prior import PROPOSALS, STREAM_PMC, in_box, prior_density, uniform_draws

log = logging.getLogger("snakelab.imnn.lfi.pmc")

MAX_REDRAWS = 10_000
"""Rounds of redrawing proposals outside the box before giving up (a proposal far wider than the box)."""


class PMCResult(NamedTuple):
    """Fields of ``lfi/pmc.npz``: ``samples`` (n_targets, n_points, n_params), ``weights`` (n_targets,
    n_points, normalised), ``distances`` (n_targets, n_points); per target and iteration (padded to
    ``max_iterations`` with NaN, resp. 0 for counts): ``epsilons``, ``acceptance`` (accepted /
    simulated), ``n_simulations``; ``iterations`` (n_targets,) completed iterations; ``stop_reason``
    (n_targets,) one of ``acceptance_ratio``, ``max_iterations``, ``max_simulations``;
    ``n_initial_simulations`` the fresh initial draws simulated (0 when starting from ABC draws)."""

    samples: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    epsilons: np.ndarray
    acceptance: np.ndarray
    n_simulations: np.ndarray
    iterations: np.ndarray
    stop_reason: np.ndarray
    n_initial_simulations: int


def weighted_covariance(samples: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Σ_w = Σ w̃ᵢ (θᵢ − m)(θᵢ − m)ᵀ with w̃ = w/Σw and m = Σ w̃ᵢ θᵢ: (n_params, n_params).

    Mean-centred, hence unchanged when every θᵢ is shifted by the same vector.
    """
    samples = np.asarray(samples, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    centred = samples - w @ samples
    return (centred * w[:, None]).T @ centred


def log_normal_matrix(x: np.ndarray, centres: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log N(x_a; centre_b, cov) for all pairs: (n_x, n_centres)."""
    chol = np.linalg.cholesky(cov)
    diff = x[:, None, :] - centres[None, :, :]
    solved = np.linalg.solve(chol, diff.reshape(-1, x.shape[1]).T).T.reshape(diff.shape)
    log_det = 2.0 * np.log(np.diag(chol)).sum()
    return -0.5 * (np.einsum("abp,abp->ab", solved, solved) + log_det + x.shape[1] * np.log(2 * np.pi))


def pmc_weights(
    new: np.ndarray,
    old: np.ndarray,
    old_weights: np.ndarray,
    cov: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> np.ndarray:
    """w*ᵢ ∝ π(θ*ᵢ) / Σ_j w_j N(θ*ᵢ; θ_j, Σ), normalised to sum 1: (n_new,)."""
    from scipy.special import logsumexp

    w = np.asarray(old_weights, dtype=np.float64)
    log_mix = logsumexp(log_normal_matrix(new, old, cov) + np.log(w / w.sum())[None, :], axis=1)
    with np.errstate(divide="ignore"):
        log_w = np.log(prior_density(new, low, high)) - log_mix
    log_w -= log_w.max()
    out = np.exp(log_w)
    return out / out.sum()


def _propose(
    generator: np.random.Generator,
    n: int,
    population: np.ndarray,
    weights: np.ndarray,
    chol: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
) -> np.ndarray:
    """n proposals θ* ~ Σ_j w_j N(θ_j, LLᵀ) inside the box; j and θ* are redrawn together."""
    proposals = np.empty((n, population.shape[1]))
    todo = np.arange(n)
    for _ in range(MAX_REDRAWS):
        j = generator.choice(population.shape[0], size=todo.size, p=weights)
        z = generator.standard_normal((todo.size, population.shape[1]))
        candidate = population[j] + z @ chol.T
        inside = in_box(candidate, low, high)
        proposals[todo[inside]] = candidate[inside]
        todo = todo[~inside]
        if todo.size == 0:
            return proposals
    raise RuntimeError(f"PMC proposals stayed outside the prior box after {MAX_REDRAWS} redraws")


def _proposal_cholesky(cov: np.ndarray) -> np.ndarray:
    scale = max(float(np.trace(cov)) / cov.shape[0], np.finfo(np.float64).tiny)
    return np.linalg.cholesky(cov + 1e-12 * scale * np.eye(cov.shape[0]))


def pmc(
    targets: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    simulate: Simulate,
    compress: Compress,
    seed: int,
    fisher: np.ndarray | None = None,
    distance: str = "fisher",
    initial: tuple[np.ndarray, np.ndarray] | None = None,
    n_points: int = 1000,
    n_initial: int | None = None,
    quantile: float = 75.0,
    proposal_scale: float = 2.0,
    acceptance_ratio: float = 0.1,
    max_iterations: int = 10,
    max_simulations: int = 1_000_000,
    batch: int = 1000,
) -> PMCResult:
    """Run ABC-PMC for every target θ̂_t in ``targets`` (n_targets, n_params); see the module docstring.

    ``initial`` = (parameters (N, n_params), distances (n_targets, N)), e.g. the joined ABC chunks;
    when None, ``n_initial`` (≥ ``n_points``) fresh prior draws are simulated. Proposals of target t
    come from the generator ``snakelab.core.seeds.rng(seed, STREAM_PMC, PROPOSALS, t)``, independent
    of the prior draws ``rng(seed, STREAM_PMC, DRAWS, block)``.
    """
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    targets = np.atleast_2d(np.asarray(targets, dtype=np.float64))
    metric = distance_metric(distance, fisher)
    n_targets, n_params = targets.shape
    n_fresh = 0
    if initial is None:
        if n_initial is None or n_initial < n_points:
            raise ValueError(
                f"n_initial must be >= n_points = {n_points} without ABC draws, found {n_initial}"
            )
        n_fresh = n_initial
        indices = np.arange(n_initial, dtype=np.int64)
        parameters = uniform_draws(seed, STREAM_PMC, indices, low, high)
        summaries = np.concatenate(
            [
                summarise(simulate, compress, indices[s : s + batch], parameters[s : s + batch], n_params)
                for s in range(0, n_initial, batch)
            ]
        )
        initial = (parameters, distances(summaries, targets, metric))
    parameters, initial_distances = initial
    if parameters.shape[0] < n_points:
        raise ValueError(f"{parameters.shape[0]} initial draws < n_points = {n_points}")
    if n_fresh + n_targets * max_simulations >= 2**32:
        raise ValueError("n_initial + n_targets · max_simulations must stay below 2**32 simulation indices")

    samples = np.empty((n_targets, n_points, n_params))
    weights = np.empty((n_targets, n_points))
    dist = np.empty((n_targets, n_points))
    epsilons = np.full((n_targets, max_iterations), np.nan)
    acceptance = np.full((n_targets, max_iterations), np.nan)
    n_simulations = np.zeros((n_targets, max_iterations), dtype=np.int64)
    iterations = np.zeros(n_targets, dtype=np.int64)
    reasons = []
    for t in range(n_targets):
        order = np.argsort(initial_distances[t], kind="stable")[:n_points]
        run = _Target(
            summarise=lambda idx, theta: summarise(simulate, compress, idx, theta, n_params),
            target=targets[t : t + 1],
            metric=metric,
            low=low,
            high=high,
            generator=rng(seed, STREAM_PMC, PROPOSALS, t),
            first_index=n_fresh + t * max_simulations,
        )
        population, rho = parameters[order].copy(), initial_distances[t, order].copy()
        w = np.full(n_points, 1.0 / n_points)
        reason = "max_iterations"
        for it in progress(range(max_iterations), desc=f"pmc target {t}", total=max_iterations):
            epsilon = float(np.percentile(rho, quantile))
            cov = proposal_scale * weighted_covariance(population, w)
            step = run.iterate(population, w, cov, epsilon, batch, max_simulations)
            if step is None:
                reason = "max_simulations"
                break
            new_population, rho, n_accepted, n_simulated = step
            w = pmc_weights(new_population, population, w, cov, low, high)
            population = new_population
            epsilons[t, it] = epsilon
            acceptance[t, it] = n_accepted / n_simulated
            n_simulations[t, it] = n_simulated
            iterations[t] = it + 1
            log.info(
                "target %d iteration %d: epsilon %.4g, acceptance %.4f, %d simulations",
                *(t, it, epsilon, acceptance[t, it], n_simulated),
            )
            if acceptance[t, it] <= acceptance_ratio:
                reason = "acceptance_ratio"
                break
        samples[t], weights[t], dist[t] = population, w, rho
        reasons.append(reason)
    return PMCResult(
        samples, weights, dist, epsilons, acceptance, n_simulations, iterations, np.asarray(reasons), n_fresh
    )


class _Target:
    """Simulation bookkeeping of one target: its proposal generator, next simulation index, budget used."""

    def __init__(
        self,
        summarise: Callable[[np.ndarray, np.ndarray], np.ndarray],
        target: np.ndarray,
        metric: np.ndarray | None,
        low: np.ndarray,
        high: np.ndarray,
        generator: np.random.Generator,
        first_index: int,
    ) -> None:
        self.summarise, self.target, self.metric = summarise, target, metric
        self.low, self.high, self.generator = low, high, generator
        self.next_index = first_index
        self.used = 0

    def iterate(
        self,
        population: np.ndarray,
        weights: np.ndarray,
        cov: np.ndarray,
        epsilon: float,
        batch: int,
        max_simulations: int,
    ) -> tuple[np.ndarray, np.ndarray, int, int] | None:
        """Propose, simulate and accept (ρ ≤ ϵ) in batches until n_points are accepted.

        Returns (new population, its distances, accepted, simulated), or None when the budget of
        ``max_simulations`` runs out first.
        """
        n_points = population.shape[0]
        chol = _proposal_cholesky(cov)
        new_theta, new_rho = [], []
        n_accepted = n_simulated = 0
        while n_accepted < n_points:
            size = min(batch, max_simulations - self.used)
            if size <= 0:
                return None
            proposals = _propose(self.generator, size, population, weights, chol, self.low, self.high)
            idx = self.next_index + np.arange(size, dtype=np.int64)
            rho = distances(self.summarise(idx, proposals), self.target, self.metric)[0]
            self.next_index += size
            self.used += size
            n_simulated += size
            accept = rho <= epsilon
            n_accepted += int(accept.sum())
            new_theta.append(proposals[accept])
            new_rho.append(rho[accept])
        return (
            np.concatenate(new_theta)[:n_points],
            np.concatenate(new_rho)[:n_points],
            n_accepted,
            n_simulated,
        )


def write_pmc(
    path: str | os.PathLike[str], result: PMCResult, ranges: np.ndarray | None = None, smoothing: float = 0.0
) -> None:
    """Write ``lfi/pmc.npz`` atomically; with ``ranges`` also the weighted histogram marginals
    ``marginals_1d`` (n_targets, n_params, G), ``marginals_2d`` (n_targets, n_pairs, G, G), ``ranges``
    and ``pairs`` (see :mod:`.grid`)."""
    fields = result._asdict()
    if ranges is not None:
        marginals = [
            histogram_marginals(s, ranges, w, smoothing)
            for s, w in zip(result.samples, result.weights, strict=True)
        ]
        fields["ranges"] = ranges
        fields["pairs"] = parameter_pairs(ranges.shape[0])
        fields["marginals_1d"] = np.stack([m[0] for m in marginals])
        fields["marginals_2d"] = np.stack([m[1] for m in marginals])
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **fields)
