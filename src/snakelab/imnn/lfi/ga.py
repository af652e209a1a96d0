"""Gaussian approximation of the posterior (spec §10): N(θ̂_t, F⁻¹) truncated to the prior box.

The 1-D marginal of parameter p is N(θ_p; θ̂_p, (F⁻¹)_pp) and the 2-D marginal of the pair (i, j) the
Gaussian with the 2×2 sub-block of F⁻¹, each evaluated on the grid and normalised to unit mass there
(see :mod:`.grid`), which truncates it to the box.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from snakelab.core.atomic import atomic_path
from snakelab.imnn.lfi.grid import normalise, parameter_pairs, spacing


class GAResult(NamedTuple):
    """Fields of ``lfi/ga.npz``: ``ranges`` (n_params, G), ``marginals_1d`` (n_targets, n_params, G),
    ``marginals_2d`` (n_targets, n_pairs, G, G), ``pairs`` (n_pairs, 2), ``theta_hat`` (n_targets,
    n_params), ``invF`` (n_params, n_params)."""

    ranges: np.ndarray
    marginals_1d: np.ndarray
    marginals_2d: np.ndarray
    pairs: np.ndarray
    theta_hat: np.ndarray
    invF: np.ndarray


def _gaussian_2d(x: np.ndarray, y: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    dx = x[:, None] - mean[0]
    dy = y[None, :] - mean[1]
    prec = np.linalg.inv(cov)
    quad = prec[0, 0] * dx**2 + 2 * prec[0, 1] * dx * dy + prec[1, 1] * dy**2
    return np.exp(-0.5 * quad)


def gaussian_approximation(theta_hat: np.ndarray, invF: np.ndarray, ranges: np.ndarray) -> GAResult:
    """GA marginals for targets ``theta_hat`` (n_targets, n_params) with covariance ``invF`` on ``ranges``."""
    theta_hat = np.atleast_2d(np.asarray(theta_hat, dtype=np.float64))
    invF = np.asarray(invF, dtype=np.float64)
    n_targets, n_params = theta_hat.shape
    if invF.shape != (n_params, n_params) or ranges.shape[0] != n_params:
        raise ValueError(f"invF {invF.shape} and ranges {ranges.shape} do not match n_params = {n_params}")
    variances = np.diag(invF)
    if not (variances > 0).all():
        raise ValueError(f"invF must have a positive diagonal, found {variances}")
    delta = spacing(ranges)
    pairs = parameter_pairs(n_params)
    size = ranges.shape[1]
    m1 = np.zeros((n_targets, n_params, size))
    m2 = np.zeros((n_targets, len(pairs), size, size))
    for t in range(n_targets):
        for p in range(n_params):
            density = np.exp(-0.5 * (ranges[p] - theta_hat[t, p]) ** 2 / variances[p])
            m1[t, p] = normalise(density, float(delta[p]))
        for k, (i, j) in enumerate(pairs):
            block = invF[np.ix_([i, j], [i, j])]
            density = _gaussian_2d(ranges[i], ranges[j], theta_hat[t, [i, j]], block)
            m2[t, k] = normalise(density, float(delta[i] * delta[j]))
    return GAResult(ranges, m1, m2, pairs, theta_hat, invF)


def write_ga(path: str | os.PathLike[str], result: GAResult) -> None:
    """Write ``lfi/ga.npz`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **result._asdict())
