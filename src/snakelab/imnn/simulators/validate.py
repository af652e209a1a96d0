"""Checks that a simulator (or a set of simulations) has the expected shape and finite values.

Both raise :class:`snakelab.core.errors.InputError` (file, field, expected-and-found), which the CLI
reports as one line and exit status 2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from snakelab.core.errors import InputError
from snakelab.imnn.simulators.registry import Simulator


def check_simulations(
    data: Any,
    input_shape: Sequence[int],
    path: str | None,
    field: str,
    n: int | None = None,
) -> np.ndarray:
    """Return ``data`` as an array after checking shape (n, *input_shape) and finiteness.

    ``n`` (optional) is the expected number of simulations; ``path``/``field`` name the offending
    file and array (or config key) in the error.
    """
    array = np.asarray(data)
    expected = (n if n is not None else "n", *tuple(int(s) for s in input_shape))
    shape_ok = array.ndim == len(expected) and tuple(array.shape[1:]) == tuple(expected[1:])
    if shape_ok and n is not None:
        shape_ok = array.shape[0] == n
    if not shape_ok:
        shown = "(" + ", ".join(str(s) for s in expected) + (",)" if len(expected) == 1 else ")")
        raise InputError(path, field, f"expected shape {shown}, found {tuple(array.shape)}")
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(path, field, f"expected floating-point values, found dtype {array.dtype}")
    bad = ~np.isfinite(array)
    if bad.any():
        first = int(np.argwhere(bad.reshape(array.shape[0], -1).any(axis=1))[0, 0])
        raise InputError(
            path, field, f"expected finite values, found {int(bad.sum())} NaN/inf (first: simulation {first})"
        )
    return array


def validate_simulator(
    simulator: Simulator,
    args: Mapping[str, Any] | None = None,
    theta: Sequence[float] | None = None,
    *,
    path: str | None = None,
    field: str = "imnn.simulator",
    n: int = 2,
    derivative: bool = False,
    seed: int = 0,
) -> tuple[int, ...]:
    """Run ``simulator`` ``n`` times at ``theta`` (default its θ_fid) and check its output.

    Checks that each simulation has shape ``simulator.input_shape(args)`` and finite values and,
    with ``derivative=True`` (``mode: simulator``), that ``jax.jacfwd`` in θ is finite too. Returns
    the input shape. Failures raise :class:`InputError` on ``path``/``field``.
    """
    import jax
    import jax.numpy as jnp

    args = simulator.resolve_args(args, path=path)
    if theta is None:
        theta = simulator.theta_fid
    if theta is None:
        raise InputError(path, "imnn.theta_fid", f"expected fiducial parameters for {simulator.name}")
    try:
        input_shape = simulator.input_shape(args)
    except Exception as exc:
        raise InputError(path, field, f"simulator {simulator.name} failed to trace: {exc}") from None
    theta = jnp.asarray(theta, dtype=jnp.float32)
    keys = jax.random.split(jax.random.PRNGKey(seed), n)
    try:
        data = jax.vmap(lambda key: simulator.simulate(key, theta, args))(keys)
    except Exception as exc:
        raise InputError(path, field, f"simulator {simulator.name} failed: {exc}") from None
    check_simulations(np.asarray(data), input_shape, path, f"{field} ({simulator.name} output)", n=n)
    if derivative:
        jacobian = jax.jacfwd(lambda t, key: simulator.simulate(key, t, args))
        jac = jax.vmap(jacobian, in_axes=(None, 0))(theta, keys)
        jac = np.asarray(jac)
        if not np.isfinite(jac).all():
            where = f"{field} ({simulator.name} derivative)"
            raise InputError(path, where, "expected a finite derivative in theta, found NaN/inf")
    return input_shape
