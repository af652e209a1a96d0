"""User simulators: ``imnn.simulator.name: "package.module:attribute"`` (spec §8).

The attribute is either

* a :class:`~snakelab.imnn.simulators.registry.Simulator` entry, used as it is (declare its
  ``shape_fn``, ``theta_fid``, prior and optionally ``fisher_fn``); or
* a plain function ``simulate(key, theta, args) -> data``: one simulation for the JAX PRNG key ``key``
  and parameters ``theta`` (n_params,), a JAX array of fixed shape, traceable (``jit``, ``vmap``) and,
  for ``mode: simulator``, differentiable in ``theta``. ``args`` is the config's
  ``imnn.simulator.args`` mapping, passed unchanged. Its input shape is found with
  ``jax.eval_shape`` at the config's ``theta_fid``; the prior box comes from the config.

Example (``mysims.py`` on ``PYTHONPATH``)::

    import jax, jax.numpy as jnp

    def exponential(key, theta, args):
        return -jnp.log(jax.random.uniform(key, (args.get("n", 20),))) / theta[0]

    # config: simulator: {name: "mysims:exponential", args: {n: 20}}, theta_fid: [1.0]
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from snakelab.core.errors import InputError
from snakelab.imnn.simulators.registry import SimulateFn, Simulator


def from_function(
    simulate: SimulateFn,
    theta_fid: Sequence[float],
    name: str = "user",
    parameter_names: Sequence[str] | None = None,
) -> Simulator:
    """Wrap ``simulate(key, theta, args)`` as an entry; its shape is traced at ``theta_fid``."""
    theta_fid = tuple(float(t) for t in theta_fid)
    n_params = len(theta_fid)
    names = tuple(parameter_names) if parameter_names is not None else tuple(f"θ{p}" for p in range(n_params))
    if len(names) != n_params:
        raise ValueError(f"parameter_names: expected {n_params} names, found {len(names)}")

    def shape_fn(args: Mapping[str, Any]) -> tuple[int, ...]:
        import jax
        import jax.numpy as jnp

        out = jax.eval_shape(
            lambda key, theta: simulate(key, theta, args),
            jax.random.PRNGKey(0),
            jnp.asarray(theta_fid, dtype=jnp.float32),
        )
        return tuple(out.shape)

    return Simulator(
        name=name,
        simulate=simulate,
        parameter_names=names,
        theta_fid=theta_fid,
        prior_low=None,
        prior_high=None,
        shape_fn=shape_fn,
    )


def load(spec: str, theta_fid: Sequence[float] | None = None, path: str | None = None) -> Simulator:
    """Import ``module:attribute`` and return its entry (see the module docstring)."""
    field = "imnn.simulator.name"
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise InputError(path, field, f"expected 'module:function', found {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(path, field, f"cannot import module {module_name!r} ({exc})") from None
    try:
        target = getattr(module, attribute)
    except AttributeError:
        raise InputError(path, field, f"module {module_name!r} has no attribute {attribute!r}") from None
    if isinstance(target, Simulator):
        return target
    if not callable(target):
        kind = type(target).__name__
        expected = "a Simulator or a function simulate(key, theta, args)"
        raise InputError(path, field, f"expected {expected}, found {kind}")
    if theta_fid is None:
        raise InputError(path, "imnn.theta_fid", f"expected the fiducial parameters for simulator {spec!r}")
    return from_function(target, theta_fid, name=spec)
