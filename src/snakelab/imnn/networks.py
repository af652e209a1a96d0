"""Summary networks as plain pytrees (spec §9): ``init(key, input_shape) -> params`` and
``apply(params, d) -> (n_summaries,)`` for ONE input of shape ``input_shape``.

``mlp``: dense layers on the flattened input with an optional linear skip d·W added to the output.
``cnn``: conv blocks (3×3, stride-2 downsampling) on a 2-D input (H, W) or (H, W, channels), global
average pooling, a dense head. A user network is a dotted path ``module:factory`` whose factory takes
the network config (less ``kind``) and ``n_summaries`` and returns ``(init, apply)``.
"""

from __future__ import annotations

import importlib
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp

Init = Callable[[jax.Array, tuple[int, ...]], Any]
Apply = Callable[[Any, jax.Array], jax.Array]

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "softplus": jax.nn.softplus,
    "leaky_relu": jax.nn.leaky_relu,
    "relu": jax.nn.relu,
    "gelu": jax.nn.gelu,
    "tanh": jnp.tanh,
}


def _dense(key: jax.Array, n_in: int, n_out: int, dtype: Any) -> dict[str, jax.Array]:
    """He-normal weights (n_in, n_out), zero bias (n_out,)."""
    w = jax.random.normal(key, (n_in, n_out), dtype) * math.sqrt(2.0 / n_in)
    return {"w": w, "b": jnp.zeros((n_out,), dtype)}


def mlp(
    n_summaries: int,
    hidden: Sequence[int] = (128, 128, 128),
    activation: str = "softplus",
    linear_skip: bool = True,
    dtype: Any = jnp.float32,
) -> tuple[Init, Apply]:
    """A multilayer perceptron on the flattened input; ``linear_skip`` adds d·W_skip to the output."""
    act = ACTIVATIONS[activation]

    def init(key: jax.Array, input_shape: tuple[int, ...]) -> dict[str, Any]:
        n_in = math.prod(input_shape)
        sizes = [n_in, *hidden, n_summaries]
        keys = jax.random.split(key, len(sizes))
        layers = [_dense(k, a, b, dtype) for k, a, b in zip(keys[:-1], sizes[:-1], sizes[1:], strict=True)]
        params: dict[str, Any] = {"layers": layers}
        if linear_skip:
            params["skip"] = jax.random.normal(keys[-1], (n_in, n_summaries), dtype) / math.sqrt(n_in)
        return params

    def apply(params: dict[str, Any], d: jax.Array) -> jax.Array:
        flat = jnp.ravel(d)
        h = flat
        for layer in params["layers"][:-1]:
            h = act(h @ layer["w"] + layer["b"])
        last = params["layers"][-1]
        out = h @ last["w"] + last["b"]
        if "skip" in params:
            out = out + flat @ params["skip"]
        return out

    return init, apply


def cnn(
    n_summaries: int,
    channels: Sequence[int] = (16, 32, 64),
    hidden: Sequence[int] = (128,),
    activation: str = "leaky_relu",
    dtype: Any = jnp.float32,
) -> tuple[Init, Apply]:
    """Conv blocks (3×3 conv stride 1, 3×3 conv stride 2, per entry of ``channels``), global average
    pooling and a dense head with ``hidden`` layers, for inputs (H, W) or (H, W, C)."""
    act = ACTIVATIONS[activation]
    dims = ("NHWC", "HWIO", "NHWC")

    def init(key: jax.Array, input_shape: tuple[int, ...]) -> dict[str, Any]:
        c_in = 1 if len(input_shape) == 2 else input_shape[-1]
        keys = iter(jax.random.split(key, 2 * len(channels) + len(hidden) + 1))
        convs = []
        for c_out in channels:
            for c_a in (c_in, c_out):
                w = jax.random.normal(next(keys), (3, 3, c_a, c_out), dtype) * math.sqrt(2.0 / (9 * c_a))
                convs.append({"w": w, "b": jnp.zeros((c_out,), dtype)})
            c_in = c_out
        sizes = [c_in, *hidden, n_summaries]
        head = [_dense(next(keys), a, b, dtype) for a, b in itertools.pairwise(sizes)]
        return {"convs": convs, "head": head}

    def apply(params: dict[str, Any], d: jax.Array) -> jax.Array:
        h = d[None, :, :, None] if d.ndim == 2 else d[None]
        for k, conv in enumerate(params["convs"]):
            stride = (2, 2) if k % 2 else (1, 1)
            h = jax.lax.conv_general_dilated(h, conv["w"], stride, "SAME", dimension_numbers=dims)
            h = act(h + conv["b"])
        h = jnp.mean(h, axis=(0, 1, 2))
        for layer in params["head"][:-1]:
            h = act(h @ layer["w"] + layer["b"])
        last = params["head"][-1]
        return h @ last["w"] + last["b"]

    return init, apply


def build(network: Mapping[str, Any], n_summaries: int, dtype: Any = jnp.float32) -> tuple[Init, Apply]:
    """(init, apply) from the config ``network:`` mapping: ``kind`` mlp | cnn | ``module:factory``."""
    options = {k: v for k, v in network.items() if k != "kind"}
    kind = network.get("kind", "mlp")
    if kind == "mlp":
        return mlp(n_summaries, dtype=dtype, **options)
    if kind == "cnn":
        return cnn(n_summaries, dtype=dtype, **options)
    module, _, factory = kind.partition(":")
    if not factory:
        raise ValueError(f"network.kind {kind!r}: expected mlp, cnn or module:factory")
    return getattr(importlib.import_module(module), factory)(n_summaries=n_summaries, **options)
