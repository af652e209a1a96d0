"""Batched simulation with per-index keys, the ``simulate(indices, thetas)`` callable of LFI (§10, §12).

Simulation number j of a stream uses ``fold_in(stream_key, j)``, so results do not depend on how the
indices are split into chunks or batches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from snakelab.imnn.simulators.registry import Simulator


def batch_simulator(
    simulator: Simulator, args: Mapping[str, Any] | None, stream_key: Any, dtype: Any = np.float32
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``simulate(indices (n,), thetas (n, n_params)) -> data (n, *input_shape)`` (NumPy in and out).

    ``stream_key`` is the stream's JAX PRNG key (e.g. stream ``abc`` or ``pmc``); simulation j uses
    ``fold_in(stream_key, j)`` (indices are cast to uint32). ``dtype`` is the θ/data precision
    (float64 requires ``jax_enable_x64``). The function is jit-compiled once per batch shape.
    """
    import jax
    import jax.numpy as jnp

    resolved = simulator.resolve_args(args)

    @jax.jit
    def run(indices: Any, thetas: Any) -> Any:
        def one(j: Any, theta: Any) -> Any:
            return simulator.simulate(jax.random.fold_in(stream_key, j), theta, resolved)

        return jax.vmap(one)(indices, thetas)

    def simulate(indices: np.ndarray, thetas: np.ndarray) -> np.ndarray:
        idx = jnp.asarray(np.asarray(indices, dtype=np.int64).astype(np.uint32))
        return np.asarray(run(idx, jnp.asarray(thetas, dtype=dtype)))

    return simulate
