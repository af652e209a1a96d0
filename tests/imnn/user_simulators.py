"""Simulators with defects, for the bad-input tests (loaded as ``tests.imnn.user_simulators:<name>``)."""

from __future__ import annotations

from typing import Any

from snakelab.imnn.simulators import Simulator


def nan_data(key: Any, theta: Any, args: Any) -> Any:
    """Gaussian draws with every third value NaN."""
    import jax
    import jax.numpy as jnp

    d = theta[0] + jax.random.normal(key, (6,))
    return jnp.where(jnp.arange(6) % 3 == 0, jnp.nan, d)


def _short(key: Any, theta: Any, args: Any) -> Any:
    import jax

    return theta[0] + jax.random.normal(key, (5,))


#: declares simulations of shape (6,) but returns (5,)
wrong_shape = Simulator(
    name="wrong_shape",
    simulate=_short,
    parameter_names=("m",),
    theta_fid=(0.0,),
    prior_low=(-1.0,),
    prior_high=(1.0,),
    shape_fn=lambda args: (6,),
)
