"""What every JAX stage sets up from the resolved section: precision, stream keys, the simulator, the
network and its weights files (spec §9, §12). Imported only inside stages (it imports JAX)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from snakelab.core.errors import InputError
from snakelab.imnn import config, networks, npz


def set_precision(section: Mapping[str, Any]) -> Any:
    """Enable x64 for this process when ``dtype: float64``; return the JAX float dtype."""
    if section["dtype"] == "float64":
        jax.config.update("jax_enable_x64", True)
        return jnp.float64
    return jnp.float32


def stream_key(seed: int, stream: str) -> jax.Array:
    """``PRNGKey(SeedSequence([seed, STREAM]).generate_state(1)[0])`` for a named stream (spec §12)."""
    state = np.random.SeedSequence([seed, config.STREAMS[stream]]).generate_state(1)[0]
    return jax.random.PRNGKey(int(state))


def index_keys(key: jax.Array, indices: Any) -> jax.Array:
    """``fold_in(key, i)`` for each simulation index i."""
    idx = jnp.asarray(np.asarray(indices, dtype=np.int64).astype(np.uint32))
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(idx)


def simulator(section: Mapping[str, Any]) -> Callable[[jax.Array, jax.Array], jax.Array] | None:
    """``simulate(key, θ)`` of the configured simulator (None with external data)."""
    entry = config.simulator_entry(section)
    return None if entry is None else entry.bind(section["simulator"].get("args"))


def input_shape(section: Mapping[str, Any], data_path: str | None = None) -> tuple[int, ...]:
    """Shape of one simulation (see :func:`snakelab.imnn.config.input_shape`)."""
    return config.input_shape(section, data_path)


def network(section: Mapping[str, Any], dtype: Any) -> tuple[Callable, Callable]:
    """(init, apply) of ``network:`` with ``n_summaries`` outputs."""
    return networks.build(section["network"], section["n_summaries"], dtype)


def initial_weights(section: Mapping[str, Any], init: Callable, shape: tuple[int, ...]) -> Any:
    """Weights drawn from stream ``init``."""
    return init(stream_key(section["seed"], "init"), shape)


def save_weights(path: str | Path, w: Any) -> None:
    """Weights as ``leaf_0000 …`` arrays in tree order (atomic)."""
    leaves = jax.tree_util.tree_leaves(w)
    npz.save(path, {f"leaf_{k:04d}": np.asarray(v) for k, v in enumerate(leaves)})


def load_weights(path: str | Path, template: Any) -> Any:
    """Weights saved by :func:`save_weights`, in the structure of ``template``."""
    leaves, treedef = jax.tree_util.tree_flatten(template)
    with np.load(path) as z:
        if len(z.files) != len(leaves):
            raise InputError(
                path, "weights", f"expected {len(leaves)} arrays for this network, found {len(z.files)}"
            )
        loaded = [jnp.asarray(z[f"leaf_{k:04d}"], leaf.dtype) for k, leaf in enumerate(leaves)]
    for k, (a, b) in enumerate(zip(loaded, leaves, strict=True)):
        if a.shape != b.shape:
            raise InputError(path, f"leaf_{k:04d}", f"expected shape {b.shape}, found {a.shape}")
    return jax.tree_util.tree_unflatten(treedef, loaded)
