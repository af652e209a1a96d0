"""``snakelab imnn simulate`` and ``simulate-target`` (spec §3, §12).

Chunk c of set S holds simulations ``config.chunk_indices(n, n_chunks, c)``; simulation i uses
``fold_in(stream_key, i)`` with stream ``train`` (fiducial, derivative) or ``validation``, so derivative
simulation i shares its noise with fiducial simulation i (matched seeds) and results do not depend on
``n_chunks``. Derivative sets: dd/dθ (n, *input, n_params) in simulator and gradient modes, the
simulations at θ_fid ∓ δθ_p/2·e_p (n, 2, n_params, *input) in numerical mode.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from snakelab.core.errors import InputError
from snakelab.imnn import config, npz

log = logging.getLogger("snakelab.imnn.simulate")
BATCH = 1000


def simulation_function(section: dict[str, Any], set_name: str) -> Callable:
    """A jitted ``f(keys) -> data`` for one set."""
    import jax
    import jax.numpy as jnp

    from snakelab.imnn import runtime

    dtype = runtime.set_precision(section)
    simulate = runtime.simulator(section)
    theta = jnp.asarray(section["theta_fid"], dtype)
    if set_name in config.FIDUCIAL_SETS:
        return jax.jit(jax.vmap(lambda k: simulate(k, theta)))
    if section["mode"] == "numerical":
        delta = jnp.asarray(section["delta_theta"], dtype)
        shifts = jnp.stack([-0.5 * jnp.diag(delta), 0.5 * jnp.diag(delta)])
        one = lambda k: jax.vmap(jax.vmap(lambda s: simulate(k, theta + s)))(shifts)  # noqa: E731
        return jax.jit(jax.vmap(one))
    return jax.jit(jax.vmap(lambda k: jax.jacfwd(lambda t: simulate(k, t))(theta)))


def simulate_set(section: dict[str, Any], set_name: str, indices: np.ndarray) -> np.ndarray:
    """The simulations ``indices`` of set ``set_name``, checked for shape and finiteness."""
    from snakelab.imnn import runtime
    from snakelab.imnn.simulators import check_simulations

    stream = "validation" if set_name.startswith("validation") else "train"
    key = runtime.stream_key(section["seed"], stream)
    run = simulation_function(section, set_name)
    parts = [
        np.asarray(run(runtime.index_keys(key, indices[a : a + BATCH])))
        for a in range(0, len(indices), BATCH)
    ]
    data = np.concatenate(parts) if parts else np.zeros((0,))
    shape = runtime.input_shape(section)
    n_params = len(section["theta_fid"])
    if set_name in config.FIDUCIAL_SETS:
        expected = shape
    elif section["mode"] == "numerical":
        expected = (2, n_params, *shape)
    else:
        expected = (*shape, n_params)
    return check_simulations(
        data, expected, None, f"simulator {section['simulator']['name']} ({set_name})", n=len(indices)
    )


def main(args: argparse.Namespace) -> None:
    section = config.load(args.config)
    if args.set not in config.simulated_sets(section):
        raise InputError(
            args.config, "--set", f"expected one of {config.simulated_sets(section)}, got {args.set!r}"
        )
    if not 0 <= args.chunk < section["n_chunks"]:
        raise InputError(args.config, "--chunk", f"expected 0 <= chunk < n_chunks = {section['n_chunks']}")
    indices = config.chunk_indices(config.set_size(section, args.set), section["n_chunks"], args.chunk)
    data = simulate_set(section, args.set, indices)
    npz.save(args.output, {"data": data, "index": indices})
    log.info("wrote %s: %s %s", args.output, args.set, data.shape)


def target_data(section: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """(data (n_targets, *input), θ (n_targets, n_params) or None) of ``target:``."""
    import jax
    import jax.numpy as jnp

    from snakelab.imnn import runtime
    from snakelab.imnn.simulators import check_simulations

    dtype = runtime.set_precision(section)
    shape = runtime.input_shape(section)
    target = section["target"]
    if "path" in target:
        data = np.load(target["path"])
        return check_simulations(data, shape, target["path"], "target data"), None
    theta = np.asarray(target["theta"], dtype=np.dtype(section["dtype"]))
    simulate = runtime.simulator(section)
    if simulate is None:
        raise InputError(None, "imnn.target.theta", "expected target.path when no simulator is configured")
    keys = runtime.index_keys(runtime.stream_key(section["seed"], "target"), np.arange(len(theta)))
    data = np.asarray(jax.jit(jax.vmap(simulate))(keys, jnp.asarray(theta, dtype)))
    return check_simulations(data, shape, None, "target simulations"), theta


def main_target(args: argparse.Namespace) -> None:
    section = config.load(args.config)
    data, theta = target_data(section)
    arrays = {"data": data} if theta is None else {"data": data, "theta": theta}
    npz.save(args.output, arrays)
    log.info("wrote %s: %d targets", args.output, len(data))
