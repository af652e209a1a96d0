"""Summaries and their parameter derivatives in the three modes (spec §3).

``apply(w, d)`` maps ONE input (*input_shape) to (n_summaries,). Each function returns
``(x, dx)``: x (n, n_summaries) the summaries of the given fiducial inputs, dx (n_d, n_summaries,
n_params) their derivatives with respect to θ.

- ``simulator``: ``simulate(key, θ) -> d`` differentiable in θ; dx = J_apply(d)·∂d/∂θ at θ_fid for the first
  n_d keys (the simulator's Jacobian by jacfwd, then one JVP of the network per parameter); the other keys
  give summaries only.
- ``gradient``: fiducial d (n_s, *input) and dd/dθ (n_d, *input, n_params); dx_p = JVP of apply(w, ·) along
  dd/dθ_p (the input Jacobian is never formed).
- ``numerical``: fiducial d (n_s, *input) and simulations (n_d, 2, n_params, *input) at θ_fid ∓ δθ_p/2·e_p;
  dx_p = (x⁺ − x⁻)/δθ_p.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from snakelab.imnn import networks

Apply = Callable[[Any, jax.Array], jax.Array]
Simulate = Callable[[jax.Array, jax.Array], jax.Array]


def summaries(apply: Apply, w: Any, d: jax.Array) -> jax.Array:
    """apply(w, ·) over a batch d (n, *input) → (n, n_summaries)."""
    return networks.batched(apply)(w, d)


def simulations_and_jacobians(
    simulate: Simulate, keys: jax.Array, theta: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Simulations d (n, *input) at θ for ``keys`` (n keys) and their θ-Jacobians (n, *input, n_params)."""

    def one(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        def f(t: jax.Array) -> tuple[jax.Array, jax.Array]:
            d = simulate(key, t)
            return d, d

        jac, d = jax.jacfwd(f, has_aux=True)(theta)
        return d, jac

    return jax.vmap(one)(keys)


def simulator_derivatives(
    apply: Apply, w: Any, simulate: Simulate, keys: jax.Array, theta_fid: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Summaries (n, n_summaries) and derivatives (n, n_summaries, n_params) of simulations at ``keys``:
    the chain rule through the simulator's Jacobian, one batched JVP of the network per parameter."""
    d, dd = simulations_and_jacobians(simulate, keys, theta_fid)
    return gradient_derivatives(apply, w, d, dd)


def simulator_summaries(
    apply: Apply, w: Any, simulate: Simulate, keys: jax.Array, theta_fid: jax.Array, n_d: int
) -> tuple[jax.Array, jax.Array]:
    """Simulator mode: (x (n_s, n_summaries), dx (n_d, n_summaries, n_params)) for ``keys`` (n_s keys)."""
    x_d, dx = simulator_derivatives(apply, w, simulate, keys[:n_d], theta_fid)
    if keys.shape[0] == n_d:
        return x_d, dx
    rest = summaries(apply, w, jax.vmap(lambda k: simulate(k, theta_fid))(keys[n_d:]))
    return jnp.concatenate([x_d, rest], axis=0), dx


def gradient_derivatives(apply: Apply, w: Any, d: jax.Array, dd: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Summaries (n, n_summaries) and derivatives (n, n_summaries, n_params) from inputs d (n, *input)
    and input derivatives dd (n, *input, n_params): the network is linearised once at d, then one batched
    JVP per parameter (the input Jacobian of the network is never formed; under ``vmap`` the tangents
    would cost twice as much on XLA CPU)."""
    y, jvp = jax.linearize(functools.partial(networks.batched(apply), w), d)
    return y, jnp.stack([jvp(dd[..., p]) for p in range(dd.shape[-1])], axis=-1)


def gradient_summaries(apply: Apply, w: Any, d: jax.Array, dd: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Gradient mode: x of all n_s inputs ``d``, dx of the first n_d (``dd`` has n_d entries)."""
    n_d = dd.shape[0]
    x_d, dx = gradient_derivatives(apply, w, d[:n_d], dd)
    if d.shape[0] == n_d:
        return x_d, dx
    return jnp.concatenate([x_d, summaries(apply, w, d[n_d:])], axis=0), dx


def numerical_derivatives(apply: Apply, w: Any, d_pm: jax.Array, delta_theta: jax.Array) -> jax.Array:
    """(x⁺ − x⁻)/δθ_p from simulations d_pm (n, 2, n_params, *input) → (n, n_summaries, n_params)."""
    n, _, n_params = d_pm.shape[:3]
    x_pm = summaries(apply, w, d_pm.reshape((n * 2 * n_params, *d_pm.shape[3:])))
    x_pm = x_pm.reshape((n, 2, n_params, -1))
    dx = (x_pm[:, 1] - x_pm[:, 0]) / delta_theta[None, :, None]
    return jnp.swapaxes(dx, 1, 2)


def numerical_summaries(
    apply: Apply, w: Any, d: jax.Array, d_pm: jax.Array, delta_theta: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Numerical mode: x of all n_s inputs ``d``, dx of the first n_d from ``d_pm``."""
    return summaries(apply, w, d), numerical_derivatives(apply, w, d_pm, delta_theta)
