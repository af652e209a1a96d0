"""Held-out evaluation of a posterior, ``model_evaluation.h5`` (spec §2.4).

A :class:`ModelEvaluation` holds the predicted viability of every theta for n_exp experiments together
with the observations. With the squared errors E = (prediction − observation)², (n_exp, K):

- :meth:`ModelEvaluation.mse` = mean of E over experiments and thetas (the posterior-average MSE, not
  the MSE of the posterior mean);
- :meth:`ModelEvaluation.mse_variance` = population variance over experiments of E's mean over thetas;
- :meth:`ModelEvaluation.inter_chain_mse_variance` = population variance over chains of each chain's
  mean of E (over experiments and the chain's thetas).

On disk (all datasets gzip level 4, no timestamps): ``predictions`` f8 (n_exp, K), ``observations`` f8
(n_exp,), ``chain_ids`` i8 (K,), ``sample_names`` fixed-width UTF-8 bytes (n_exp,). Only numpy and h5py
are imported.
"""

from __future__ import annotations

import os
from typing import Any

import h5py
import numpy as np
from numpy.typing import ArrayLike

from snakelab.batchie.experiment_space import as_strings, encode_utf8
from snakelab.core.atomic import atomic_path
from snakelab.core.errors import InputError

__all__ = ["ModelEvaluation"]

_GZIP: dict[str, Any] = {"compression": "gzip", "compression_opts": 4, "track_times": False}
_DATASETS = ("predictions", "observations", "chain_ids", "sample_names")


class ModelEvaluation:
    """Predictions of K thetas for n_exp experiments, with the observations.

    Parameters
    ----------
    predictions:
        (n_exp, K) floats: predicted viability of theta k for experiment e.
    observations:
        (n_exp,) floats: observed viability.
    chain_ids:
        (K,) integers: chain index of each theta.
    sample_names:
        (n_exp,) strings (str or UTF-8 bytes): sample of each experiment.

    Invalid input raises :class:`~snakelab.core.errors.InputError` naming the field.
    """

    def __init__(
        self, predictions: ArrayLike, observations: ArrayLike, chain_ids: ArrayLike, sample_names: ArrayLike
    ) -> None:
        pred = np.asarray(predictions)
        obs = np.asarray(observations)
        chains = np.asarray(chain_ids)
        if pred.ndim != 2 or pred.dtype.kind not in "fiu":
            raise InputError(None, "predictions", f"expected 2-D floats, found {pred.dtype} {pred.shape}")
        n_exp, k = pred.shape
        if obs.shape != (n_exp,) or obs.dtype.kind not in "fiu":
            raise InputError(
                None, "observations", f"expected ({n_exp},) floats, found {obs.dtype} {obs.shape}"
            )
        if chains.shape != (k,) or (k and chains.dtype.kind not in "iu"):
            raise InputError(
                None, "chain_ids", f"expected ({k},) integers, found {chains.dtype} {chains.shape}"
            )
        names = as_strings(sample_names, "sample_names", 1)
        if names.shape != (n_exp,):
            raise InputError(None, "sample_names", f"expected shape ({n_exp},), found {names.shape}")
        self.predictions = np.array(pred, dtype=np.float64, copy=True)
        self.observations = np.array(obs, dtype=np.float64, copy=True)
        self.chain_ids = np.array(chains, dtype=np.int64, copy=True)
        self.sample_names = names

    @property
    def n_experiments(self) -> int:
        """n_exp."""
        return int(self.predictions.shape[0])

    @property
    def n_thetas(self) -> int:
        """K."""
        return int(self.predictions.shape[1])

    def squared_errors(self) -> np.ndarray:
        """(n_exp, K) float64 E = (prediction − observation)²."""
        return (self.predictions - self.observations[:, None]) ** 2

    def mse(self) -> float:
        """Mean of E over experiments and thetas (NaN when there are none)."""
        errors = self.squared_errors()
        return float(errors.mean()) if errors.size else float("nan")

    def mse_variance(self) -> float:
        """Population variance over experiments of E's mean over thetas (NaN when there are none)."""
        errors = self.squared_errors()
        return float(np.var(errors.mean(axis=1))) if errors.size else float("nan")

    def inter_chain_mse_variance(self) -> float:
        """Population variance over chains of each chain's mean E (NaN when there are none)."""
        errors = self.squared_errors()
        if errors.size == 0:
            return float("nan")
        _, chain_of_theta = np.unique(self.chain_ids, return_inverse=True)
        per_theta = errors.mean(axis=0)
        per_chain = np.bincount(chain_of_theta, weights=per_theta) / np.bincount(chain_of_theta)
        return float(np.var(per_chain))

    def mean_predictions(self) -> np.ndarray:
        """(n_exp,) float64 mean prediction over thetas."""
        return self.predictions.mean(axis=1)

    def save_h5(self, fn: str | os.PathLike[str]) -> None:
        """Write atomically (module docstring layout); the same content gives the same bytes."""
        datasets = {
            "predictions": self.predictions,
            "observations": self.observations,
            "chain_ids": self.chain_ids,
            "sample_names": encode_utf8(self.sample_names),
        }
        with atomic_path(fn) as tmp, h5py.File(tmp, "w") as f:
            for name, data in datasets.items():
                f.create_dataset(name, data=data, **_GZIP)

    @classmethod
    def load_h5(cls, fn: str | os.PathLike[str]) -> ModelEvaluation:
        """Read a file written by :meth:`save_h5` (or BATCHIE); InputError naming file and dataset if bad."""
        try:
            with h5py.File(fn, "r") as f:
                data = {name: _read(fn, f, name) for name in _DATASETS}
        except FileNotFoundError:
            raise InputError(fn, "file", "expected an existing HDF5 file, found none") from None
        except OSError as exc:
            raise InputError(fn, "file", f"expected a readable HDF5 file ({exc})") from None
        try:
            return cls(**data)
        except InputError as exc:
            raise InputError(fn, exc.field, exc.expected) from None

    def __repr__(self) -> str:
        return f"ModelEvaluation(n_experiments={self.n_experiments}, n_thetas={self.n_thetas})"


def _read(fn: str | os.PathLike[str], f: h5py.File, name: str) -> np.ndarray:
    obj = f.get(name)
    if not isinstance(obj, h5py.Dataset):
        raise InputError(fn, name, "expected this dataset, found it missing")
    if obj.dtype.kind == "O" and h5py.check_string_dtype(obj.dtype) is not None:
        return obj.asstr()[()]
    return obj[()]
