"""Parameters of the ``SparseDrugCombo`` model and of its Gibbs sampler (spec §4, §9 ``model``).

:class:`SparseDrugComboParams` holds every model parameter of spec §4 "Parameters" with its default;
:class:`McmcParams` the sampler settings (``batchie.model.mcmc``). Both are frozen dataclasses that
validate on construction and build from a mapping (config section, ``--model-param KEY=VALUE`` strings
or JSON) with :meth:`from_mapping`, which casts each value by its declared type and rejects unknown keys
listing the allowed ones. Errors are :class:`~snakelab.core.errors.InputError` naming the key.
Only the standard library is imported.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from os import PathLike
from typing import Any, Literal, TypeVar

from snakelab.batchie.registry import cast_value
from snakelab.core.errors import InputError

__all__ = ["BLOCKINGS", "McmcParams", "SparseDrugComboParams"]

BLOCKINGS = ("colour", "joint", "sequential")
BACKENDS = ("numpy",)

_P = TypeVar("_P", "SparseDrugComboParams", "McmcParams")


def _from_mapping(cls: type[_P], values: Mapping[str, Any], source: str | PathLike[str] | None) -> _P:
    """Build ``cls`` from ``values``, casting each by the field's annotation; InputError(source, key, ...)."""
    if not isinstance(values, Mapping):
        raise InputError(source, cls.__name__, f"expected a mapping of parameters, found {type(values)}")
    hints = typing.get_type_hints(cls)
    fields = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in hints:
            raise InputError(source, str(key), f"expected one of {', '.join(fields)}")
        try:
            kwargs[key] = cast_value(value, hints[key], key)
        except InputError as exc:
            raise InputError(source, key, exc.expected) from None
    try:
        return cls(**kwargs)
    except InputError as exc:
        raise InputError(source, exc.field, exc.expected) from None
    except TypeError:
        missing = [
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.name not in kwargs
        ]
        raise InputError(source, missing[0], "expected a value for this required parameter") from None


def _check(condition: bool, key: str, expected: str, value: Any) -> None:
    if not condition:
        raise InputError(None, key, f"{expected}, found {value!r}")


@dataclasses.dataclass(frozen=True)
class SparseDrugComboParams:
    """Model parameters of ``SparseDrugCombo`` (spec §4).

    ``n_embedding_dimensions`` is D (required; the demo uses 2, the paper 12). ``a0``, ``b0``: shape and
    rate of the Ga priors of λ, τ0 (and τ without the multiplicative gamma process). ``fake_intercept``:
    α = mean(y) instead of sampled. ``mult_gamma_proc``: τ = cumprod(γ) (else τ_d ~ Ga(a0, b0)).
    ``local_shrinkage``: sample the local scales φ (else they stay at their initial 100).
    ``min_Mu``, ``max_Mu``, ``intercept``, ``individual_eff``, ``predict_interactions`` and
    ``interaction_log_transform`` are accepted without effect, as in the reference.
    """

    n_embedding_dimensions: int
    a0: float = 1.1
    b0: float = 1.1
    fake_intercept: bool = True
    mult_gamma_proc: bool = True
    local_shrinkage: bool = True
    min_Mu: float = -10.0
    max_Mu: float = 10.0
    intercept: bool = True
    individual_eff: bool = True
    predict_interactions: bool = False
    interaction_log_transform: bool = True

    def __post_init__(self) -> None:
        d = self.n_embedding_dimensions
        _check(
            isinstance(d, int) and not isinstance(d, bool) and d >= 1,
            "n_embedding_dimensions",
            "expected an int >= 1",
            d,
        )
        for key in ("a0", "b0"):
            value = getattr(self, key)
            _check(isinstance(value, (int, float)) and value > 0, key, "expected a float > 0", value)

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], source: str | PathLike[str] | None = None
    ) -> SparseDrugComboParams:
        """Build from ``{key: value}`` (strings are cast by type); InputError(source, key, ...) if invalid."""
        return _from_mapping(cls, values, source)


@dataclasses.dataclass(frozen=True)
class McmcParams:
    """Settings of the Gibbs sampler (spec §4 "Sampling", "Vectorisation"; config ``model.mcmc``).

    ``n_burnin`` sweeps are discarded, then ``n_samples · thin`` sweeps run and the state after every
    ``thin``-th is kept. ``blocking``: ``colour`` (colour classes of the drug-dose co-occurrence graph
    updated in one batched draw), ``joint`` (V0 and V1 drawn jointly when M·(D+1) ≤ ``joint_max_dim``,
    else as ``colour``) or ``sequential`` (per-id scan, as the reference). ``backend``: ``numpy`` only.
    ``predict_block_mb``: memory bound (MiB) of one block of batched predictions.
    """

    n_burnin: int = 1000
    n_samples: int = 100
    thin: int = 10
    blocking: Literal["colour", "joint", "sequential"] = "colour"
    joint_max_dim: int = 1024
    backend: Literal["numpy"] = "numpy"
    predict_block_mb: int = 256

    def __post_init__(self) -> None:
        for key, low in (("n_burnin", 0), ("n_samples", 1), ("thin", 1), ("joint_max_dim", 0)):
            value = getattr(self, key)
            _check(
                isinstance(value, int) and not isinstance(value, bool) and value >= low,
                key,
                f"expected an int >= {low}",
                value,
            )
        _check(
            self.blocking in BLOCKINGS, "blocking", f"expected one of {', '.join(BLOCKINGS)}", self.blocking
        )
        _check(self.backend in BACKENDS, "backend", f"expected one of {', '.join(BACKENDS)}", self.backend)
        value = self.predict_block_mb
        _check(
            isinstance(value, int) and not isinstance(value, bool) and value >= 1,
            "predict_block_mb",
            "expected an int >= 1",
            value,
        )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], source: str | PathLike[str] | None = None) -> McmcParams:
        """Build from ``{key: value}`` (strings are cast by type); InputError(source, key, ...) if invalid."""
        return _from_mapping(cls, values, source)
