"""Early-stopping state and its jittable update (spec §4, steps 4–5).

Iteration i monitors mᵢ (validation |F| at w_{i+1}, or training |F| at wᵢ). If mᵢ > max_detF the
weights at which mᵢ was computed become the best weights and the patience counter resets; otherwise,
only once i > min_iterations, the counter grows. The fit stops after iteration i when the counter reaches
``patience``, when i + 1 = ``max_iterations``, or when the loss or mᵢ is not finite or mᵢ ≤ 0.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

RUNNING, PATIENCE, MAX_ITERATIONS, NON_FINITE = 0, 1, 2, 3
STOP_REASONS = {
    RUNNING: "running",
    PATIENCE: "patience",
    MAX_ITERATIONS: "max_iterations",
    NON_FINITE: "non-finite",
}


class EarlyStopping(NamedTuple):
    """max_detF (best monitored value so far), best_iteration, patience_counter, stop (a code above)."""

    max_detF: jax.Array
    best_iteration: jax.Array
    patience_counter: jax.Array
    stop: jax.Array


def initial_state(dtype: Any = jnp.float32) -> EarlyStopping:
    """The state of a new fit: max_detF = 0, best_iteration = −1, counter 0, running."""
    return EarlyStopping(
        jnp.zeros((), dtype),
        jnp.asarray(-1, jnp.int32),
        jnp.asarray(0, jnp.int32),
        jnp.asarray(RUNNING, jnp.int32),
    )


def update(
    state: EarlyStopping,
    best_w: Any,
    monitored: jax.Array,
    loss: jax.Array,
    iteration: jax.Array,
    w_monitored: Any,
    *,
    patience: int,
    min_iterations: int,
    max_iterations: int,
) -> tuple[EarlyStopping, Any]:
    """The state and best weights after iteration ``iteration`` with monitored value ``monitored``."""
    improved = monitored > state.max_detF
    max_detF = jnp.where(improved, monitored, state.max_detF).astype(state.max_detF.dtype)
    best_iteration = jnp.where(improved, iteration, state.best_iteration).astype(jnp.int32)
    grow = jnp.logical_and(~improved, iteration > min_iterations)
    counter = jnp.where(improved, 0, state.patience_counter + grow.astype(jnp.int32)).astype(jnp.int32)
    best_w = jax.tree_util.tree_map(lambda new, old: jnp.where(improved, new, old), w_monitored, best_w)
    finite = jnp.isfinite(loss) & jnp.isfinite(monitored) & (monitored > 0)
    stop = jnp.where(
        ~finite,
        NON_FINITE,
        jnp.where(
            counter >= patience, PATIENCE, jnp.where(iteration + 1 >= max_iterations, MAX_ITERATIONS, RUNNING)
        ),
    ).astype(jnp.int32)
    return EarlyStopping(max_detF, best_iteration, counter, stop), best_w
