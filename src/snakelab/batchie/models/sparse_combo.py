"""Posterior samples (thetas) of the ``SparseDrugCombo`` model and their predictions (spec §4).

One theta, :class:`SparseDrugComboMCMCSample`, holds for C samples, M non-control treatments (drug-doses)
and D embedding dimensions:

============= ======= ===========================================
field         shape   meaning
============= ======= ===========================================
``W``         (C, D)  sample embeddings
``W0``        (C,)    sample offsets
``V0``        (M,)    treatment offsets
``V1``        (M, D)  treatment embeddings (additive term)
``V2``        (M, D)  treatment embeddings (interaction term)
``alpha``     float   intercept
``precision`` float   λ, the noise precision of the logit viability
============= ======= ===========================================

For a row with sample c and treatments a, b (X̃[t] = X[t] for t ≥ 0, 0 for the control id −1), the
conditional mean of the logit viability is::

    μ = α + W0[c] + Ṽ0[a] + Ṽ0[b] + W[c]·(Ṽ1[a] + Ṽ1[b]) + W[c]·(Ṽ2[a] ∘ Ṽ2[b])      (arity 2)
    μ = α + W0[c] + Ṽ0[a] + W[c]·Ṽ1[a]                                                (arity 1)

the viability is ``clip(expit(μ), 0.01, 0.99)`` and the conditional variance ``1/λ``. The per-theta
methods compute these for one theta; the module functions :func:`conditional_mean`, :func:`viability`
and :func:`conditional_variance` compute them for K stacked thetas at once (:class:`StackedThetas`, a
leading theta axis on every field), in blocks of rows that bound the temporaries. Only numpy is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "SparseDrugComboMCMCSample",
    "StackedThetas",
    "conditional_mean",
    "conditional_variance",
    "expit",
    "stack_thetas",
    "viability",
]

VIABILITY_MIN = 0.01
VIABILITY_MAX = 0.99
PRIVATE_PARAMETERS = ("W", "W0", "V0", "V1", "V2", "alpha", "precision")
_ARRAY_PARAMETERS = {"W": 2, "W0": 1, "V0": 1, "V1": 2, "V2": 2}


def expit(x: ArrayLike) -> np.ndarray:
    """The logistic function 1 / (1 + exp(−x)), float64, without overflow for large |x|."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    r = 1.0 / (1.0 + e)
    return np.where(x >= 0, r, e * r)


@dataclass(eq=False)
class SparseDrugComboMCMCSample:
    """One posterior sample of ``SparseDrugCombo`` (shapes in the module docstring; arrays become float64)."""

    W: np.ndarray
    W0: np.ndarray
    V2: np.ndarray
    V1: np.ndarray
    V0: np.ndarray
    alpha: float
    precision: float

    def __post_init__(self) -> None:
        for name, ndim in _ARRAY_PARAMETERS.items():
            arr = np.array(getattr(self, name), dtype=np.float64, copy=True)
            if arr.ndim != ndim:
                raise ValueError(f"{name} must be {ndim}-D, found shape {arr.shape}")
            setattr(self, name, arr)
        self.alpha = float(self.alpha)
        self.precision = float(self.precision)
        c, d = self.W.shape
        m = self.V0.shape[0]
        expected = {"W0": (c,), "V1": (m, d), "V2": (m, d)}
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(
                    f"{name} must have shape {shape} (W {self.W.shape}, V0 {self.V0.shape}), "
                    f"found {getattr(self, name).shape}"
                )

    @property
    def n_samples(self) -> int:
        """C, the number of samples."""
        return int(self.W.shape[0])

    @property
    def n_treatments(self) -> int:
        """M, the number of non-control treatments."""
        return int(self.V0.shape[0])

    @property
    def n_embedding_dimensions(self) -> int:
        """D, the embedding dimension."""
        return int(self.W.shape[1])

    def private_parameters_dict(self) -> dict[str, Any]:
        """``{"W", "W0", "V0", "V1", "V2": float64 arrays, "alpha", "precision": float}`` (copies)."""
        return {name: np.copy(getattr(self, name)) for name in _ARRAY_PARAMETERS} | {
            "alpha": self.alpha,
            "precision": self.precision,
        }

    def shared_parameters_dict(self) -> dict[str, Any]:
        """Parameters shared by all thetas of a holder: none for this model."""
        return {}

    @classmethod
    def from_dicts(
        cls, private: Mapping[str, Any], shared: Mapping[str, Any] | None = None
    ) -> SparseDrugComboMCMCSample:
        """Inverse of the two ``*_parameters_dict`` methods; KeyError naming a missing parameter."""
        missing = [name for name in PRIVATE_PARAMETERS if name not in private]
        if missing:
            raise KeyError(f"missing private parameter(s) {', '.join(missing)}")
        return cls(**{name: private[name] for name in PRIVATE_PARAMETERS})

    def predict_conditional_mean(self, screen_or_rows: Any) -> np.ndarray:
        """(n,) float64 μ per row of a screen, screen view or ``(sample_ids, treatment_ids)`` pair."""
        samples, treatments = row_ids(screen_or_rows, self.n_samples, self.n_treatments)
        w = self.W[samples]

        def tilde(values: np.ndarray, slot: int) -> np.ndarray:
            ids = treatments[:, slot]
            gathered = values[np.maximum(ids, 0)]
            mask = (ids >= 0).reshape((-1,) + (1,) * (values.ndim - 1))
            return np.where(mask, gathered, 0.0)

        mu = self.alpha + self.W0[samples] + tilde(self.V0, 0)
        if treatments.shape[1] == 1:
            return mu + np.sum(w * tilde(self.V1, 0), axis=1)
        mu = mu + tilde(self.V0, 1)
        mu = mu + np.sum(w * (tilde(self.V1, 0) + tilde(self.V1, 1)), axis=1)
        return mu + np.sum(w * (tilde(self.V2, 0) * tilde(self.V2, 1)), axis=1)

    def predict_viability(self, screen_or_rows: Any) -> np.ndarray:
        """(n,) float64 ``clip(expit(μ), 0.01, 0.99)`` per row."""
        return np.clip(expit(self.predict_conditional_mean(screen_or_rows)), VIABILITY_MIN, VIABILITY_MAX)

    def predict_conditional_variance(self, screen_or_rows: Any) -> np.ndarray:
        """(n,) float64 ``1/λ`` per row (the same for every row)."""
        samples, _ = row_ids(screen_or_rows, self.n_samples, self.n_treatments)
        return np.full(samples.size, 1.0 / self.precision)


class StackedThetas(NamedTuple):
    """K thetas as arrays with a leading theta axis (all float64).

    ``W`` (K, C, D), ``W0`` (K, C), ``V0`` (K, M), ``V1`` (K, M, D), ``V2`` (K, M, D), ``alpha`` (K,),
    ``precision`` (K,).
    """

    W: np.ndarray
    W0: np.ndarray
    V0: np.ndarray
    V1: np.ndarray
    V2: np.ndarray
    alpha: np.ndarray
    precision: np.ndarray

    @property
    def n_thetas(self) -> int:
        """K."""
        return int(self.alpha.shape[0])

    def theta(self, k: int) -> SparseDrugComboMCMCSample:
        """Theta k as a :class:`SparseDrugComboMCMCSample` (copies)."""
        return SparseDrugComboMCMCSample.from_dicts({name: getattr(self, name)[k] for name in self._fields})


def stack_thetas(thetas: Sequence[SparseDrugComboMCMCSample]) -> StackedThetas:
    """Stack K ≥ 1 thetas of equal shapes into a :class:`StackedThetas` (ValueError on mismatched shapes)."""
    thetas = list(thetas)
    if not thetas:
        raise ValueError("cannot stack zero thetas")
    arrays = {}
    for name in PRIVATE_PARAMETERS:
        try:
            arrays[name] = np.stack([np.asarray(getattr(t, name), dtype=np.float64) for t in thetas])
        except ValueError:
            shapes = sorted({np.shape(getattr(t, name)) for t in thetas})
            raise ValueError(f"thetas disagree on the shape of {name}: {shapes}") from None
    return StackedThetas(**arrays)


def row_ids(screen_or_rows: Any, n_samples: int, n_treatments: int) -> tuple[np.ndarray, np.ndarray]:
    """(sample_ids (n,), treatment_ids (n, a)) int64 of a screen, a view or a ``(sample_ids, treatment_ids)``.

    Checks 0 ≤ sample id < C, −1 ≤ treatment id < M and arity 1 or 2; ValueError otherwise.
    """
    if hasattr(screen_or_rows, "sample_ids") and hasattr(screen_or_rows, "treatment_ids"):
        samples, treatments = screen_or_rows.sample_ids, screen_or_rows.treatment_ids
    else:
        samples, treatments = screen_or_rows
    samples = np.asarray(samples)
    treatments = np.asarray(treatments)
    if samples.ndim != 1 or treatments.ndim != 2 or treatments.shape[0] != samples.shape[0]:
        raise ValueError(
            f"expected sample_ids (n,) and treatment_ids (n, a), found {samples.shape}, {treatments.shape}"
        )
    if treatments.shape[1] not in (1, 2):
        raise ValueError(f"SparseDrugCombo predicts arity 1 or 2, found arity {treatments.shape[1]}")
    if samples.size and (samples.dtype.kind not in "iu" or treatments.dtype.kind not in "iu"):
        raise ValueError(f"ids must be integers, found {samples.dtype}, {treatments.dtype}")
    samples = samples.astype(np.int64, copy=False)
    treatments = treatments.astype(np.int64, copy=False)
    if samples.size and (samples.min() < 0 or samples.max() >= n_samples):
        raise ValueError(f"sample ids must lie in 0..{n_samples - 1}, found {samples.min()}..{samples.max()}")
    if treatments.size and (treatments.min() < -1 or treatments.max() >= n_treatments):
        raise ValueError(
            f"treatment ids must lie in -1..{n_treatments - 1}, found {treatments.min()}..{treatments.max()}"
        )
    return samples, treatments


def _theta_last(values: np.ndarray) -> np.ndarray:
    """(K, R, ...) → contiguous (R, ..., K): a row gather then copies contiguous theta vectors."""
    return np.ascontiguousarray(np.moveaxis(values, 0, -1))


def _with_zero_row(values: np.ndarray) -> np.ndarray:
    """(K, M, ...) → (K, M + 1, ...) with a zero row last, so that the control id −1 selects zeros."""
    pad = np.zeros((values.shape[0], 1, *values.shape[2:]), dtype=np.float64)
    return np.concatenate([np.asarray(values, dtype=np.float64), pad], axis=1)


_CACHE_BYTES = 2**20  # target size of one temporary: blocks stay cache-resident
_TEMPORARIES = 4  # (block, D, K) arrays alive at once in conditional_mean


def conditional_mean(
    stacked: StackedThetas, sample_ids: ArrayLike, treatment_ids: ArrayLike, block_mb: float = 256
) -> np.ndarray:
    """(K, n) float64 μ of every theta for rows given by sample ids (n,) and treatment ids (n, a), a ∈ {1, 2}.

    The parameters are laid out theta-last ((C, D, K), (M + 1, D, K)) so that gathering a row's
    parameters copies contiguous theta vectors; rows are processed in blocks whose (block, D, K)
    temporaries stay near 1 MiB each (cache-resident) and never exceed ``block_mb`` MiB together. The
    (K, n) result is extra. Control ids (−1) contribute zero.
    """
    return _blocked_mean(stacked, sample_ids, treatment_ids, block_mb, None)


def viability(
    stacked: StackedThetas, sample_ids: ArrayLike, treatment_ids: ArrayLike, block_mb: float = 256
) -> np.ndarray:
    """(K, n) float64 ``clip(expit(μ), 0.01, 0.99)`` of every theta; arguments of :func:`conditional_mean`."""
    return _blocked_mean(stacked, sample_ids, treatment_ids, block_mb, _viability_of_mean)


def _viability_of_mean(mu: np.ndarray) -> np.ndarray:
    return np.clip(expit(mu), VIABILITY_MIN, VIABILITY_MAX)


def _blocked_mean(
    stacked: StackedThetas,
    sample_ids: ArrayLike,
    treatment_ids: ArrayLike,
    block_mb: float,
    transform: Callable[[np.ndarray], np.ndarray] | None,
) -> np.ndarray:
    """:func:`conditional_mean`, with ``transform`` applied to each (block, K) block of μ when given."""
    k, c, d = stacked.W.shape
    samples, treatments = row_ids((sample_ids, treatment_ids), c, stacked.V0.shape[1])
    n, arity = treatments.shape
    w = _theta_last(stacked.W)
    w0 = _theta_last(stacked.W0)
    v0 = _theta_last(_with_zero_row(stacked.V0))
    v1 = _theta_last(_with_zero_row(stacked.V1))
    v2 = _theta_last(_with_zero_row(stacked.V2))
    alpha = np.asarray(stacked.alpha, dtype=np.float64)
    row_bytes = 8 * k * max(d, 1)
    block = max(1, min(_CACHE_BYTES // row_bytes, int(block_mb * 2**20) // (_TEMPORARIES * row_bytes)))
    out = np.empty((k, n), dtype=np.float64)
    for start in range(0, n, block):
        rows = slice(start, start + block)
        s, a = samples[rows], treatments[rows, 0]
        x = v1[a]
        if arity == 2:
            b = treatments[rows, 1]
            x += v1[b]
            interaction = v2[a]
            interaction *= v2[b]
            x += interaction
        x *= w[s]
        mu = x.sum(axis=1)
        mu += w0[s]
        mu += v0[a]
        if arity == 2:
            mu += v0[b]
        mu += alpha
        out[:, rows] = (mu if transform is None else transform(mu)).T
    return out


def conditional_variance(stacked: StackedThetas) -> np.ndarray:
    """(K,) float64 ``1/λ`` of every theta (the same for every experiment)."""
    return 1.0 / np.asarray(stacked.precision, dtype=np.float64)
