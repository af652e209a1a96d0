"""Fisher statistics of network summaries and the IMNN loss (spec §1, §2).

Shapes: summaries ``x`` (n_s, n_summaries); derivatives ``dx`` (n_d, n_summaries, n_params), the
derivatives of the first n_d of the n_s summaries with respect to the model parameters. Every function
is pure and jittable; the precision is that of the inputs.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp


class FisherStats(NamedTuple):
    """Statistics of one set of summaries: Fisher matrix F (n_params, n_params), covariance C and its
    inverse (n_summaries, n_summaries), mean derivative J = dμ/dθ (n_summaries, n_params), mean μ."""

    F: jax.Array
    C: jax.Array
    invC: jax.Array
    J: jax.Array
    mu: jax.Array


class LossAux(NamedTuple):
    """Auxiliary outputs of :func:`loss`: the statistics, Λ2 = ‖C − I‖ + ‖C⁻¹ − I‖ and its coupling r."""

    F: jax.Array
    C: jax.Array
    invC: jax.Array
    Lambda2: jax.Array
    r: jax.Array
    detF: jax.Array


def fisher_statistics(x: jax.Array, dx: jax.Array) -> FisherStats:
    """F = Jᵀ C⁻¹ J (symmetrised) from summaries ``x`` (n_s, n_summaries) and derivatives ``dx``
    (n_d, n_summaries, n_params); C is the unbiased covariance (always 2-D, 1×1 for one summary)."""
    n_s = x.shape[0]
    mu = jnp.mean(x, axis=0)
    centred = x - mu
    C = centred.T @ centred / (n_s - 1)
    invC = jnp.linalg.inv(C)
    J = jnp.mean(dx, axis=0)
    F = J.T @ invC @ J
    F = 0.5 * (F + F.T)
    return FisherStats(F, C, invC, J, mu)


def alpha(coupling: float, closeness: float) -> float:
    """α(λ, ϵ) = −ln(ϵ(λ−1) + ϵ²/(1+ϵ)) / ϵ, in Python floats (λ = coupling, ϵ = closeness)."""
    if coupling <= 0 or closeness <= 0:
        raise ValueError(f"lambda and epsilon must be positive, got {coupling} and {closeness}")
    inner = closeness * (coupling - 1.0) + closeness**2 / (1.0 + closeness)
    if inner <= 0:
        raise ValueError(f"lambda={coupling}, epsilon={closeness} give a non-positive log argument")
    return -math.log(inner) / closeness


def regularisation(C: jax.Array, invC: jax.Array) -> jax.Array:
    """Λ2 = ‖C − I‖_F + ‖C⁻¹ − I‖_F."""
    eye = jnp.eye(C.shape[0], dtype=C.dtype)
    return jnp.linalg.norm(C - eye) + jnp.linalg.norm(invC - eye)


def coupling_strength(Lambda2: jax.Array, coupling: float, alpha_: float) -> jax.Array:
    """r(Λ2) = λ Λ2 / (Λ2 + exp(−α Λ2)); r(0) = 0 and r → λ as Λ2 → ∞ (not stop-gradiented)."""
    return coupling * Lambda2 / (Lambda2 + jnp.exp(-alpha_ * Lambda2))


def slogdet(matrix: jax.Array) -> jax.Array:
    """ln|M| as sign·log|det M| (the reference's signed log-determinant)."""
    sign, logabs = jnp.linalg.slogdet(matrix)
    return sign * logabs


def loss(x: jax.Array, dx: jax.Array, coupling: float, alpha_: float) -> tuple[jax.Array, LossAux]:
    """Λ = −ln|F| + r(Λ2)·Λ2 of summaries ``x`` and derivatives ``dx``; returns (Λ, aux)."""
    stats = fisher_statistics(x, dx)
    Lambda2 = regularisation(stats.C, stats.invC)
    r = coupling_strength(Lambda2, coupling, alpha_)
    value = -slogdet(stats.F) + r * Lambda2
    detF = jnp.linalg.det(stats.F)
    return value, LossAux(stats.F, stats.C, stats.invC, Lambda2, r, detF)
