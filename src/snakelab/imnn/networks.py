"""Summary networks as plain pytrees (spec §9): ``init(key, input_shape) -> params`` and
``apply(params, d) -> (n_summaries,)`` for ONE input of shape ``input_shape``. The built-in networks also
carry ``apply.batched(params, d (n, *input_shape)) -> (n, n_summaries)``, which :func:`batched` returns (a
``jax.vmap`` of ``apply`` for user networks without it): on XLA CPU a convolution over an explicit batch
is several times faster, forward and backward, than the same convolution under ``vmap``.

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


def _with_batched(apply_batch: Apply) -> Apply:
    """The one-input ``apply`` of a batched network, with ``apply.batched = apply_batch``."""

    def apply(params: Any, d: jax.Array) -> jax.Array:
        return apply_batch(params, d[None])[0]

    apply.batched = apply_batch  # type: ignore[attr-defined]
    return apply


def batched(apply: Apply) -> Apply:
    """``(params, d (n, *input_shape)) -> (n, n_summaries)`` for a one-input ``apply``."""
    own = getattr(apply, "batched", None)
    if own is not None:
        return own
    return jax.vmap(apply, in_axes=(None, 0))


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

    def apply_batch(params: dict[str, Any], d: jax.Array) -> jax.Array:
        flat = d.reshape((d.shape[0], -1))
        h = flat
        for layer in params["layers"][:-1]:
            h = act(h @ layer["w"] + layer["b"])
        last = params["layers"][-1]
        out = h @ last["w"] + last["b"]
        if "skip" in params:
            out = out + flat @ params["skip"]
        return out

    return init, _with_batched(apply_batch)


def cnn(
    n_summaries: int,
    channels: Sequence[int] = (16, 32, 64),
    hidden: Sequence[int] = (128,),
    activation: str = "leaky_relu",
    pool: str = "all",
    padding: str = "same",
    dtype: Any = jnp.float32,
) -> tuple[Init, Apply]:
    """Conv blocks (3×3 conv stride 1, 3×3 conv stride 2, per entry of ``channels``), global average
    pooling and a dense head with ``hidden`` layers, for inputs (H, W) or (H, W, C).

    ``pool="last"`` pools the last block's output only; ``pool="all"`` concatenates the global averages
    of every block's output (sum(channels) features), so the head sees each scale's band statistics
    directly: the high-resolution first block carries most of a field's Fourier modes; ``pool="every"``
    also pools the stride-1 convolution of each block (2·sum(channels) features).
    ``padding="same"`` pads with zeros; ``"circular"`` wraps around, for periodic inputs (a field on a
    torus has no edges, and zero padding adds spurious ones)."""
    if pool not in ("all", "last", "every"):
        raise ValueError(f"network.pool: expected all, last or every, found {pool!r}")
    if padding not in ("same", "circular"):
        raise ValueError(f"network.padding: expected same or circular, found {padding!r}")
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
        n_features = {"all": sum(channels), "every": 2 * sum(channels), "last": c_in}[pool]
        sizes = [n_features, *hidden, n_summaries]
        head = [_dense(next(keys), a, b, dtype) for a, b in itertools.pairwise(sizes)]
        return {"convs": convs, "head": head}

    def apply_batch(params: dict[str, Any], d: jax.Array) -> jax.Array:
        h = d[..., None] if d.ndim == 3 else d
        pooled = []
        for k, conv in enumerate(params["convs"]):
            stride = (2, 2) if k % 2 else (1, 1)
            if padding == "circular":
                h = jnp.pad(h, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="wrap")
            h = jax.lax.conv_general_dilated(
                h, conv["w"], stride, "VALID" if padding == "circular" else "SAME", dimension_numbers=dims
            )
            h = act(h + conv["b"])
            if k % 2 or pool == "every":
                pooled.append(jnp.mean(h, axis=(1, 2)))
        h = pooled[-1] if pool == "last" else jnp.concatenate(pooled, axis=-1)
        for layer in params["head"][:-1]:
            h = act(h @ layer["w"] + layer["b"])
        last = params["head"][-1]
        return h @ last["w"] + last["b"]

    return init, _with_batched(apply_batch)


def standardise_output(params: dict[str, Any], x: jax.Array) -> dict[str, Any]:
    """Fold the affine map x ↦ (x − x̄)·L, L = (chol C)⁻ᵀ, into the last (linear) layer of a built-in
    ``mlp`` or ``cnn``, where x (n, n_summaries) are the summaries of n fiducial inputs at ``params`` and
    C their covariance (ddof 1): the new summaries of those inputs have zero mean and identity covariance.
    An invertible affine map leaves the Fisher information unchanged, so this only removes the phase in
    which the covariance regulariser dominates the loss (a CNN's pooled summaries start with C ~ 1e-3)."""
    if "layers" in params:
        name = "layers"
    elif "head" in params:
        name = "head"
    else:
        raise ValueError("standardise_output: expected the params of a built-in mlp or cnn")
    x = jnp.asarray(x)
    centred = x - x.mean(axis=0)
    C = centred.T @ centred / (x.shape[0] - 1)
    L = jnp.linalg.inv(jnp.linalg.cholesky(C)).T
    if not bool(jnp.all(jnp.isfinite(L))):
        raise ValueError("standardise_output: the covariance of the initial summaries is singular")
    last = params[name][-1]
    out = dict(params)
    out[name] = [*params[name][:-1], {"w": last["w"] @ L, "b": (last["b"] - x.mean(axis=0)) @ L}]
    if "skip" in params:
        out["skip"] = params["skip"] @ L
    return out


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
