"""The training and validation functions :func:`snakelab.imnn.fit.fit` calls, per storage (spec §3, §6).

Memory storage: ``train(w, i, data)`` is traceable (compiled into the fit's while_loop); ``data`` is a
dict ``{"fiducial", "derivative"}`` of device arrays (None in simulator mode, which simulates n_s fresh
inputs per iteration with keys ``fold_in(fold_in(K_fit, i), j)``). Aggregated and dataset storage:
``train`` streams batches through an :class:`~snakelab.imnn.aggregated.Aggregator` (host loop).
Validation sets are fixed ``{"fiducial", "derivative"}`` arrays in gradient form (simulator and gradient
modes) or numerical form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from snakelab.imnn import derivatives, fisher
from snakelab.imnn.aggregated import Aggregator, BatchSource


def iteration_keys(fit_key: jax.Array, i: jax.Array, n: int) -> jax.Array:
    """Keys ``fold_in(fold_in(fit_key, i), j)`` for j < n: the simulations of iteration i."""
    key = jax.random.fold_in(fit_key, i)
    return jax.vmap(lambda j: jax.random.fold_in(key, j))(jnp.arange(n))


def fixed_summaries(apply: Callable, mode: str, delta_theta: Any = None) -> Callable:
    """``summaries(w, data) -> (x, dx)`` of a fixed set ``{"fiducial", "derivative"}``."""

    def run(w: Any, data: dict[str, jax.Array]) -> tuple[jax.Array, jax.Array]:
        if mode == "numerical":
            return derivatives.numerical_summaries(
                apply, w, data["fiducial"], data["derivative"], jnp.asarray(delta_theta)
            )
        return derivatives.gradient_summaries(apply, w, data["fiducial"], data["derivative"])

    return run


def memory_train(
    apply: Callable,
    mode: str,
    coupling: float,
    alpha: float,
    *,
    simulate: Callable | None = None,
    fit_key: jax.Array | None = None,
    theta_fid: Any = None,
    n_s: int = 0,
    n_d: int = 0,
    delta_theta: Any = None,
) -> Callable:
    """``train(w, i, data) -> (Λ, ∂Λ/∂w, aux)`` with all arrays on the device."""
    fixed = fixed_summaries(apply, mode, delta_theta)

    def objective(w: Any, i: jax.Array, data: Any) -> tuple[jax.Array, fisher.LossAux]:
        if mode == "simulator":
            keys = iteration_keys(fit_key, i, n_s)
            x, dx = derivatives.simulator_summaries(apply, w, simulate, keys, jnp.asarray(theta_fid), n_d)
        else:
            x, dx = fixed(w, data)
        return fisher.loss(x, dx, coupling, alpha)

    grad = jax.value_and_grad(objective, has_aux=True)

    def train(w: Any, i: jax.Array, data: Any) -> tuple[jax.Array, Any, fisher.LossAux]:
        (value, aux), g = grad(w, i, data)
        return value, g, aux

    return train


def memory_validate(
    apply: Callable, mode: str, coupling: float, alpha: float, delta_theta: Any = None
) -> Callable:
    """``validate(w, val_data) -> aux`` on a fixed validation set (numerical form only in numerical mode)."""
    fixed = fixed_summaries(apply, "numerical" if mode == "numerical" else "gradient", delta_theta)
    return lambda w, val_data: fisher.loss(*fixed(w, val_data), coupling, alpha)[1]


def aggregated_train(aggregator: Aggregator, source: BatchSource) -> Callable:
    """``train(w, i, _)`` through the two-pass aggregator (host loop)."""
    return lambda w, i, _data: aggregator.loss_and_grad(w, source, int(i))


def aggregated_validate(aggregator: Aggregator, source: BatchSource) -> Callable:
    """``validate(w, _)`` through pass 1 of the aggregator."""
    return lambda w, _val: aggregator.loss_aux(w, source, 0)
