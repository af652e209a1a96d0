"""The simulator registry entry and the lookup by name (spec §8).

An entry bundles what the pipeline needs to know about a simulator before (and without) running it:
the input shape for given ``args``, the default fiducial parameters and prior box, and, when known,
the analytic Fisher matrix. ``simulate(key, theta, args)`` is a JAX function of one PRNG key and one
parameter vector θ (n_params,), traceable and differentiable in θ, returning one simulation of shape
``input_shape(args)``. This module does not import JAX; only calling ``simulate`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snakelab.core.errors import InputError

SimulateFn = Callable[[Any, Any, Mapping[str, Any]], Any]
"""``simulate(key, theta, args) -> data``: JAX key, θ (n_params,), args → one simulation (*input_shape)."""


@dataclass(frozen=True, eq=False)
class Simulator:
    """One registered simulator.

    Attributes
    ----------
    name:
        Registry name (``gaussian``, ``field2d``) or the ``module:function`` path of a user simulator.
        Entries compare and hash by identity.
    simulate:
        ``simulate(key, theta, args) -> data``: one simulation of shape ``input_shape(args)`` for the
        JAX PRNG key ``key`` and parameters ``theta`` (n_params,); traceable (jit, vmap) and
        differentiable in ``theta``. The output dtype follows θ's floating dtype.
    parameter_names:
        One label per parameter (n_params of them), used on plot axes.
    theta_fid, prior_low, prior_high:
        Default fiducial parameters and uniform prior box, (n_params,) each; ``None`` for a user
        function, whose values come from the config.
    default_args:
        The arguments the simulator takes and their defaults; any other key is an error.
    shape_fn:
        ``shape_fn(args) -> input_shape`` with ``args`` completed by the defaults.
    fisher_fn:
        ``fisher_fn(theta, args, **options) -> F`` (n_params, n_params), float64; ``None`` if unknown.
    """

    name: str
    simulate: SimulateFn
    parameter_names: tuple[str, ...]
    theta_fid: tuple[float, ...] | None
    prior_low: tuple[float, ...] | None
    prior_high: tuple[float, ...] | None
    default_args: Mapping[str, Any] = field(default_factory=dict)
    shape_fn: Callable[[Mapping[str, Any]], tuple[int, ...]] | None = None
    fisher_fn: Callable[..., np.ndarray] | None = None
    check_args_fn: Callable[[Mapping[str, Any]], None] | None = None

    @property
    def n_params(self) -> int:
        """Number of parameters θ."""
        return len(self.parameter_names)

    def resolve_args(self, args: Mapping[str, Any] | None = None, path: str | None = None) -> dict[str, Any]:
        """``args`` completed by the defaults; an unknown key or a bad value raises :class:`InputError`.

        ``path`` is the config file named in the error (``None`` for values given on the command
        line). A user simulator (no declared defaults) receives ``args`` unchanged.
        """
        args = dict(args or {})
        if self.shape_fn is None or not self.default_args:
            return args
        unknown = sorted(set(args) - set(self.default_args))
        if unknown:
            allowed = ", ".join(sorted(self.default_args))
            raise InputError(
                path, f"imnn.simulator.args.{unknown[0]}", f"expected one of {allowed} for {self.name}"
            )
        resolved = {**self.default_args, **args}
        if self.check_args_fn is not None:
            try:
                self.check_args_fn(resolved)
            except ValueError as exc:
                raise InputError(path, f"imnn.simulator.args ({self.name})", str(exc)) from None
        return resolved

    def input_shape(self, args: Mapping[str, Any] | None = None) -> tuple[int, ...]:
        """Shape of one simulation for ``args`` (defaults filled in)."""
        args = self.resolve_args(args)
        if self.shape_fn is None:
            raise ValueError(f"simulator {self.name!r} has no declared input shape")
        return tuple(int(n) for n in self.shape_fn(args))

    def analytic_fisher(
        self, theta: Sequence[float] | None = None, args: Mapping[str, Any] | None = None, **options: Any
    ) -> np.ndarray | None:
        """The analytic Fisher matrix (n_params, n_params, float64) at ``theta`` (default θ_fid), or None.

        ``options`` are passed to the simulator's Fisher function (``field2d``: ``modes="full"`` or
        ``"quadrant"``).
        """
        if self.fisher_fn is None:
            return None
        if theta is None:
            theta = self.theta_fid
        theta64 = np.asarray(theta, dtype=np.float64)
        return np.asarray(self.fisher_fn(theta64, self.resolve_args(args), **options))

    def bind(self, args: Mapping[str, Any] | None = None) -> Callable[[Any, Any], Any]:
        """``simulate(key, theta)`` with ``args`` (defaults filled in) fixed, as used by the fit (§3)."""
        resolved = self.resolve_args(args)
        simulate = self.simulate

        def bound(key: Any, theta: Any) -> Any:
            return simulate(key, theta, resolved)

        return bound


def _builtin() -> dict[str, Simulator]:
    from snakelab.imnn.simulators import field2d, gaussian

    return {"gaussian": gaussian.ENTRY, "field2d": field2d.ENTRY}


def names() -> list[str]:
    """Names of the shipped simulators."""
    return sorted(_builtin())


def get(name: str, theta_fid: Sequence[float] | None = None, path: str | None = None) -> Simulator:
    """The registry entry for ``name``: a shipped simulator or a user one given as ``module:attribute``.

    A user attribute is either a :class:`Simulator` (used as it is) or a plain function
    ``simulate(key, theta, args) -> data`` (see :func:`snakelab.imnn.simulators.user.from_function`),
    whose input shape is found by tracing it at ``theta_fid`` (required then, taken from the config).
    An unknown name raises :class:`InputError` naming ``path`` and the key ``imnn.simulator.name``.
    """
    builtin = _builtin()
    if name in builtin:
        return builtin[name]
    if ":" in name:
        from snakelab.imnn.simulators.user import load

        return load(name, theta_fid=theta_fid, path=path)
    raise InputError(
        path,
        "imnn.simulator.name",
        f"expected one of {', '.join(sorted(builtin))} or a 'module:function' path, found {name!r}",
    )
