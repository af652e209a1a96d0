"""``gaussian``: the mean-and-variance benchmark of IMNN (spec §8).

θ = (m, v); one simulation is d = m + √v·ε with ε ~ N(0, I_n), n = ``n_data`` (default 10), so
d has shape (n_data,). The Fisher matrix is F = diag(n/v, n/(2v²)), i.e. diag(10, 5) and |F| = 50 at
θ_fid = (0, 1); the sufficient statistics (Σd, Σd²) attain it. JAX is imported inside the function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from snakelab.imnn.simulators.registry import Simulator

DEFAULT_ARGS = {"n_data": 10}


def _n_data(args: Mapping[str, Any]) -> int:
    return int(args.get("n_data", DEFAULT_ARGS["n_data"]))


def check_args(args: Mapping[str, Any]) -> None:
    """Raise ValueError unless ``n_data`` is an integer ≥ 2."""
    n = args["n_data"]
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"expected n_data an integer >= 2, found {n!r}")


def simulate(key: Any, theta: Any, args: Mapping[str, Any]) -> Any:
    """One simulation d = m + √v·ε, shape (n_data,), in θ's floating dtype (float32 for integer θ)."""
    import jax
    import jax.numpy as jnp

    theta = jnp.asarray(theta)
    if not jnp.issubdtype(theta.dtype, jnp.floating):
        theta = theta.astype(jnp.float32)
    eps = jax.random.normal(key, (_n_data(args),), dtype=theta.dtype)
    return theta[0] + jnp.sqrt(theta[1]) * eps


def input_shape(args: Mapping[str, Any]) -> tuple[int, ...]:
    """(n_data,)."""
    return (_n_data(args),)


def analytic_fisher(theta: np.ndarray, args: Mapping[str, Any]) -> np.ndarray:
    """F = diag(n/v, n/(2v²)) at θ = (m, v), float64."""
    n = _n_data(args)
    v = float(theta[1])
    return np.diag([n / v, n / (2.0 * v * v)])


ENTRY = Simulator(
    name="gaussian",
    simulate=simulate,
    parameter_names=("m", "v"),
    theta_fid=(0.0, 1.0),
    prior_low=(-2.0, 0.2),
    prior_high=(2.0, 4.0),
    default_args=DEFAULT_ARGS,
    shape_fn=input_shape,
    fisher_fn=analytic_fisher,
    check_args_fn=check_args,
)
