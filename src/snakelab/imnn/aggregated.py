"""Batched, exact loss and gradient (spec §6): aggregated and dataset storage.

One iteration makes two passes over the same batches:

1. forward (no weight gradient): summaries x (n_s, n_summaries) and derivatives dx (n_d, n_summaries,
   n_params), batch by batch;
2. on the host: Λ, the statistics, and the cotangents g_x = ∂Λ/∂x, g_d = ∂Λ/∂dx (``jax.grad`` of the loss
   with respect to the summaries and derivatives);
3. per batch, a VJP of ``(x_b, dx_b) = f(w, batch)`` with cotangents (g_x,b, g_d,b); the contributions
   are summed. Numerical mode computes dx_b = (x⁺ − x⁻)/δθ inside f, so its VJP sends ±g_d/δθ_p to the
   ± simulations. Memory is O(batch), never O(batch·|w|).

A *batch source* gives, for iteration i, the batches of the first n_d simulations (with their
derivative inputs) and those of the other n_s − n_d (fiducial only), in simulation order. Batches
have a leading axis of n_devices·n_per_device, placed with a 1-D ``NamedSharding``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from snakelab.imnn import derivatives, fisher
from snakelab.imnn.fisher import FisherStats, LossAux

Batch = dict[str, Any]


@dataclass
class BatchSource:
    """Batches of one set: ``derivative(i)`` over simulations 0..n_d−1 (keys ``fiducial`` and
    ``derivative``, or ``keys``), ``fiducial(i)`` over n_d..n_s−1 (``fiducial`` or ``keys``)."""

    derivative: Callable[[int], Iterable[Batch]]
    fiducial: Callable[[int], Iterable[Batch]]


def check_divisible(n_s: int, n_d: int, n_devices: int, n_per_device: int) -> None:
    """n_s and n_d (hence n_s − n_d) must be multiples of n_devices·n_per_device (ValueError naming them)."""
    size = n_devices * n_per_device
    for name, value in (("n_s", n_s), ("n_d", n_d)):
        if value % size:
            raise ValueError(
                f"{name} = {value} is not divisible by n_devices * n_per_device"
                f" = {n_devices} * {n_per_device}"
            )


def array_source(fiducial: np.ndarray, derivative: np.ndarray, batch: int) -> BatchSource:
    """Batches of host arrays: fiducial (n_s, *input), derivative (n_d, …) (gradient or numerical form)."""
    n_d = derivative.shape[0]
    n_s = fiducial.shape[0]

    def deriv(_: int) -> Iterable[Batch]:
        for a in range(0, n_d, batch):
            yield {"fiducial": fiducial[a : a + batch], "derivative": derivative[a : a + batch]}

    def fid(_: int) -> Iterable[Batch]:
        for a in range(n_d, n_s, batch):
            yield {"fiducial": fiducial[a : a + batch]}

    return BatchSource(deriv, fid)


def key_source(key_of_iteration: Callable[[int], jax.Array], n_s: int, n_d: int, batch: int) -> BatchSource:
    """Simulator mode: batches of keys ``fold_in(key_of_iteration(i), j)``, j < n_s."""
    make = jax.jit(lambda k: jax.vmap(lambda j: jax.random.fold_in(k, j))(jnp.arange(n_s)))

    def deriv(i: int) -> Iterable[Batch]:
        keys = make(key_of_iteration(i))
        for a in range(0, n_d, batch):
            yield {"keys": keys[a : a + batch]}

    def fid(i: int) -> Iterable[Batch]:
        keys = make(key_of_iteration(i))
        for a in range(n_d, n_s, batch):
            yield {"keys": keys[a : a + batch]}

    return BatchSource(deriv, fid)


def batch_functions(
    apply: Callable,
    mode: str,
    *,
    simulate: Callable | None = None,
    theta_fid: Any = None,
    delta_theta: Any = None,
) -> tuple[Callable, Callable]:
    """(f_derivative(w, batch) -> (x_b, dx_b), f_fiducial(w, batch) -> x_b) for a mode."""

    def f_derivative(w: Any, batch: Batch) -> tuple[jax.Array, jax.Array]:
        if "keys" in batch:
            return derivatives.simulator_derivatives(apply, w, simulate, batch["keys"], theta_fid)
        if mode == "numerical":
            x = derivatives.summaries(apply, w, batch["fiducial"])
            return x, derivatives.numerical_derivatives(apply, w, batch["derivative"], delta_theta)
        return derivatives.gradient_derivatives(apply, w, batch["fiducial"], batch["derivative"])

    def f_fiducial(w: Any, batch: Batch) -> jax.Array:
        if "keys" in batch:
            return jax.vmap(lambda k: apply(w, simulate(k, theta_fid)))(batch["keys"])
        return derivatives.summaries(apply, w, batch["fiducial"])

    return f_derivative, f_fiducial


class Aggregator:
    """Two-pass loss, gradient and statistics over a :class:`BatchSource` (see module docstring)."""

    def __init__(
        self,
        f_derivative: Callable,
        f_fiducial: Callable,
        coupling: float,
        alpha: float,
        devices: Sequence[Any] | None = None,
    ) -> None:
        self.devices = list(devices) if devices is not None else jax.devices()
        self.sharding = NamedSharding(Mesh(np.asarray(self.devices), ("batch",)), PartitionSpec("batch"))
        self._fd = jax.jit(f_derivative)
        self._ff = jax.jit(f_fiducial)

        def vjp_d(w: Any, batch: Batch, gx: jax.Array, gd: jax.Array) -> Any:
            return jax.vjp(lambda v: f_derivative(v, batch), w)[1]((gx, gd))[0]

        def vjp_f(w: Any, batch: Batch, gx: jax.Array) -> Any:
            return jax.vjp(lambda v: f_fiducial(v, batch), w)[1](gx)[0]

        self._vjp_d = jax.jit(vjp_d)
        self._vjp_f = jax.jit(vjp_f)
        loss = lambda x, dx: fisher.loss(x, dx, coupling, alpha)  # noqa: E731
        self._loss = jax.jit(loss)
        self._loss_grad = jax.jit(jax.value_and_grad(loss, argnums=(0, 1), has_aux=True))
        self._add = jax.jit(lambda a, b: jax.tree_util.tree_map(jnp.add, a, b))

    def _place(self, batch: Batch) -> Batch:
        return jax.device_put(batch, self.sharding)

    def forward(self, w: Any, source: BatchSource, i: int = 0) -> tuple[jax.Array, jax.Array]:
        """Pass 1: (x (n_s, n_summaries), dx (n_d, n_summaries, n_params)) at weights w."""
        xs, dxs = [], []
        for batch in source.derivative(i):
            x_b, dx_b = self._fd(w, self._place(batch))
            xs.append(x_b)
            dxs.append(dx_b)
        for batch in source.fiducial(i):
            xs.append(self._ff(w, self._place(batch)))
        return jnp.concatenate(xs), jnp.concatenate(dxs)

    def loss_and_grad(self, w: Any, source: BatchSource, i: int = 0) -> tuple[jax.Array, Any, LossAux]:
        """(Λ, ∂Λ/∂w, aux) of iteration i, exact (up to summation order)."""
        x, dx = self.forward(w, source, i)
        (value, aux), (gx, gd) = self._loss_grad(x, dx)
        grads = None
        start = 0
        for batch in source.derivative(i):
            placed = self._place(batch)
            n = _batch_len(batch)
            g = self._vjp_d(w, placed, gx[start : start + n], gd[start : start + n])
            grads = g if grads is None else self._add(grads, g)
            start += n
        for batch in source.fiducial(i):
            placed = self._place(batch)
            n = _batch_len(batch)
            g = self._vjp_f(w, placed, gx[start : start + n])
            grads = self._add(grads, g)
            start += n
        return value, grads, aux

    def loss_aux(self, w: Any, source: BatchSource, i: int = 0) -> LossAux:
        """Statistics and loss terms of a set (pass 1 only; validation)."""
        return self._loss(*self.forward(w, source, i))[1]

    def statistics(self, w: Any, source: BatchSource, i: int = 0) -> FisherStats:
        """:func:`~snakelab.imnn.fisher.fisher_statistics` of a set at weights w."""
        return fisher.fisher_statistics(*self.forward(w, source, i))


def _batch_len(batch: Batch) -> int:
    return int(next(iter(batch.values())).shape[0])
