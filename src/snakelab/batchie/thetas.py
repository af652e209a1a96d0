"""Posterior samples of one or more chains, ``thetas_<c>.h5`` (spec §2.2, §2.6).

A :class:`ThetaHolder` has ``n_thetas`` slots filled in order by :meth:`ThetaHolder.add_theta`. On disk
(BATCHIE's layout, which BATCHIE reads back by importing ``theta_module.theta_class``):

================================== ======== =========== ======================================
object                             dtype    shape       meaning
================================== ======== =========== ======================================
attribute ``n_thetas``             i8                   number of thetas
attribute ``theta_class``          str                  ``"SparseDrugComboMCMCSample"``
attribute ``theta_module``         str                  ``"batchie.models.sparse_combo"``
group ``shared_params``                                 empty for this model
group ``private_params/<i>``                            theta i, i = 0..n_thetas−1
``private_params/<i>/W``           f8, gzip (C, D)
``private_params/<i>/W0``          f8, gzip (C,)
``private_params/<i>/V0``          f8, gzip (M,)
``private_params/<i>/V1``          f8, gzip (M, D)
``private_params/<i>/V2``          f8, gzip (M, D)
attributes ``alpha``, ``precision`` f8                  on each ``private_params/<i>``
================================== ======== =========== ======================================

Reading accepts ``theta_module`` ``batchie.models.sparse_combo`` or ``snakelab.batchie.models.sparse_combo``
with class ``SparseDrugComboMCMCSample`` (mapped to our class; ``batchie`` is never imported) and fails with
:class:`~snakelab.core.errors.InputError` otherwise. Only numpy and h5py are imported.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import h5py
import numpy as np

from snakelab.batchie.models.sparse_combo import (
    PRIVATE_PARAMETERS,
    SparseDrugComboMCMCSample,
    StackedThetas,
    stack_thetas,
)
from snakelab.core.atomic import atomic_path
from snakelab.core.errors import InputError

__all__ = ["ThetaHolder"]

THETA_CLASS = "SparseDrugComboMCMCSample"
THETA_MODULE = "batchie.models.sparse_combo"
READABLE_MODULES = ("batchie.models.sparse_combo", "snakelab.batchie.models.sparse_combo")
_GZIP: dict[str, Any] = {"compression": "gzip", "compression_opts": 4, "track_times": False}
_ARRAYS = {"W": 2, "W0": 1, "V0": 1, "V1": 2, "V2": 2}
_SCALARS = ("alpha", "precision")


class ThetaHolder:
    """``n_thetas`` slots for :class:`SparseDrugComboMCMCSample` thetas, filled in order.

    ``len(holder)`` and iteration cover the thetas added so far; :meth:`stacked` gives them as arrays
    with a leading theta axis for the vectorised stages.
    """

    def __init__(self, n_thetas: int) -> None:
        n_thetas = int(n_thetas)
        if n_thetas < 0:
            raise ValueError(f"n_thetas must be >= 0, found {n_thetas}")
        self._n_thetas = n_thetas
        self._thetas: list[SparseDrugComboMCMCSample] = []

    @property
    def n_thetas(self) -> int:
        """Number of slots (thetas when complete)."""
        return self._n_thetas

    @property
    def current_index(self) -> int:
        """Number of thetas added so far."""
        return len(self._thetas)

    def is_complete(self) -> bool:
        """True when every slot holds a theta."""
        return len(self._thetas) == self._n_thetas

    def add_theta(self, theta: SparseDrugComboMCMCSample) -> None:
        """Put ``theta`` into the next free slot; ValueError when the holder is full."""
        if not isinstance(theta, SparseDrugComboMCMCSample):
            raise TypeError(f"expected a SparseDrugComboMCMCSample, found {type(theta).__name__}")
        if self.is_complete():
            raise ValueError(f"ThetaHolder is full ({self._n_thetas} thetas)")
        self._thetas.append(theta)

    def get_theta(self, i: int) -> SparseDrugComboMCMCSample:
        """Theta ``i``; ValueError unless 0 ≤ i < number of thetas added."""
        i = int(i)
        if not 0 <= i < len(self._thetas):
            raise ValueError(f"theta index must lie in 0..{len(self._thetas) - 1}, found {i}")
        return self._thetas[i]

    def __len__(self) -> int:
        return len(self._thetas)

    def __iter__(self) -> Iterator[SparseDrugComboMCMCSample]:
        return iter(list(self._thetas))

    def stacked(self) -> StackedThetas:
        """The thetas added so far as (K, …) float64 arrays: ``W`` (K, C, D), ``W0`` (K, C), ``V0`` (K, M),
        ``V1`` (K, M, D), ``V2`` (K, M, D), ``alpha`` (K,), ``precision`` (K,)."""
        return stack_thetas(self._thetas)

    @classmethod
    def from_stacked(cls, stacked: StackedThetas) -> ThetaHolder:
        """A complete holder of the K thetas of ``stacked`` (inverse of :meth:`stacked`)."""
        holder = cls(stacked.n_thetas)
        for k in range(stacked.n_thetas):
            holder.add_theta(stacked.theta(k))
        return holder

    @classmethod
    def concat(cls, holders: Sequence[ThetaHolder]) -> ThetaHolder:
        """A new complete holder of the thetas of ``holders`` in list order (callers: chain-index order)."""
        thetas = [theta for holder in holders for theta in holder._thetas]
        joined = cls(len(thetas))
        joined._thetas = thetas
        return joined

    def combine(self, other: ThetaHolder) -> ThetaHolder:
        """A new holder with the thetas of ``self`` and then ``other``."""
        return type(self).concat([self, other])

    def save_h5(self, fn: str | os.PathLike[str]) -> None:
        """Write atomically in the module docstring's layout; the same thetas give the same bytes.

        ValueError when the holder is not complete.
        """
        if not self.is_complete():
            raise ValueError(f"ThetaHolder holds {len(self._thetas)} of {self._n_thetas} thetas")
        with atomic_path(fn) as tmp, h5py.File(tmp, "w") as f:
            f.attrs["n_thetas"] = np.int64(self._n_thetas)
            f.attrs["theta_class"] = THETA_CLASS
            f.attrs["theta_module"] = THETA_MODULE
            f.create_group("shared_params")
            private = f.create_group("private_params")
            for i, theta in enumerate(self._thetas):
                group = private.create_group(str(i))
                params = theta.private_parameters_dict()
                for name in _ARRAYS:
                    group.create_dataset(name, data=np.asarray(params[name], dtype=np.float64), **_GZIP)
                for name in _SCALARS:
                    group.attrs[name] = np.float64(params[name])

    @classmethod
    def load_h5(cls, path: str | os.PathLike[str]) -> ThetaHolder:
        """Read a file written by :meth:`save_h5` or by BATCHIE (also callable on an instance).

        Raises :class:`InputError` naming the file and the attribute, group or dataset when the file is
        missing, of another theta class, or malformed.
        """
        try:
            with h5py.File(path, "r") as f:
                n_thetas = _check_header(path, f)
                private = f.get("private_params")
                if not isinstance(private, h5py.Group):
                    raise InputError(path, "private_params", "expected this group, found it missing")
                keys = sorted(private.keys(), key=lambda key: int(key) if key.isdigit() else -1)
                if keys != [str(i) for i in range(n_thetas)]:
                    raise InputError(
                        path, "private_params", f"expected groups 0..{n_thetas - 1}, found {len(keys)} keys"
                    )
                thetas = [_read_theta(path, private[key], f"private_params/{key}") for key in keys]
        except FileNotFoundError:
            raise InputError(path, "file", "expected an existing HDF5 file, found none") from None
        except OSError as exc:
            raise InputError(path, "file", f"expected a readable HDF5 file ({exc})") from None
        _check_shapes(path, thetas)
        holder = cls(n_thetas)
        holder._thetas = thetas
        return holder

    def __repr__(self) -> str:
        return f"ThetaHolder(n_thetas={self._n_thetas}, added={len(self._thetas)})"


def _string_attr(path: str | os.PathLike[str], f: h5py.File, name: str) -> str:
    value = f.attrs.get(name)
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if not isinstance(value, str):
        raise InputError(path, name, f"expected a string attribute, found {value!r}")
    return value


def _check_header(path: str | os.PathLike[str], f: h5py.File) -> int:
    """Validate the file attributes; return ``n_thetas``."""
    module = _string_attr(path, f, "theta_module")
    if module not in READABLE_MODULES:
        raise InputError(
            path, "theta_module", f"expected one of {', '.join(READABLE_MODULES)}, found {module!r}"
        )
    theta_class = _string_attr(path, f, "theta_class")
    if theta_class != THETA_CLASS:
        raise InputError(path, "theta_class", f"expected {THETA_CLASS!r}, found {theta_class!r}")
    n_thetas = np.asarray(f.attrs.get("n_thetas"))
    if n_thetas.dtype.kind not in "iu" or n_thetas.size != 1 or int(n_thetas.reshape(())) < 0:
        raise InputError(path, "n_thetas", f"expected a non-negative integer attribute, found {n_thetas!r}")
    return int(n_thetas.reshape(()))


def _read_array(path: str | os.PathLike[str], gid: Any, where: str, ndim: int) -> np.ndarray:
    """A float dataset of ``ndim`` dimensions as float64, read through h5py's low-level API
    (about 3x faster than the high-level one for the many small datasets of a theta file)."""
    try:
        dataset = h5py.h5d.open(gid, where.rsplit("/", 1)[1].encode())
    except (KeyError, ValueError, TypeError):
        raise InputError(path, where, "expected this dataset, found it missing") from None
    if dataset.dtype.kind != "f" or len(dataset.shape) != ndim:
        raise InputError(
            path, where, f"expected {ndim}-D floats, found {dataset.dtype} of shape {dataset.shape}"
        )
    out = np.empty(dataset.shape, dtype=np.float64)
    dataset.read(h5py.h5s.ALL, h5py.h5s.ALL, out)
    return out


def _read_scalar(path: str | os.PathLike[str], gid: Any, where: str, name: str) -> float:
    """A numeric scalar attribute as a float."""
    try:
        attribute = h5py.h5a.open(gid, name.encode())
    except (KeyError, ValueError, TypeError):
        raise InputError(path, f"{where}@{name}", "expected a float attribute, found none") from None
    if attribute.dtype.kind not in "fiu" or int(np.prod(attribute.shape)) != 1:
        raise InputError(
            path, f"{where}@{name}", f"expected a float attribute, found {attribute.dtype} {attribute.shape}"
        )
    out = np.empty(attribute.shape, dtype=np.float64)
    attribute.read(out)
    return float(out.reshape(()))


def _read_theta(path: str | os.PathLike[str], group: Any, where: str) -> SparseDrugComboMCMCSample:
    """One theta from its ``private_params/<i>`` group (float arrays cast to float64)."""
    if not isinstance(group, h5py.Group):
        raise InputError(path, where, "expected a group")
    params: dict[str, Any] = {
        name: _read_array(path, group.id, f"{where}/{name}", ndim) for name, ndim in _ARRAYS.items()
    }
    for name in _SCALARS:
        params[name] = _read_scalar(path, group.id, where, name)
    try:
        return SparseDrugComboMCMCSample.from_dicts({name: params[name] for name in PRIVATE_PARAMETERS})
    except ValueError as exc:
        raise InputError(path, where, str(exc)) from None


def _check_shapes(path: str | os.PathLike[str], thetas: list[SparseDrugComboMCMCSample]) -> None:
    """InputError unless every theta has the shapes of the first."""
    for i, theta in enumerate(thetas[1:], start=1):
        for name in _ARRAYS:
            first, this = getattr(thetas[0], name).shape, getattr(theta, name).shape
            if this != first:
                raise InputError(
                    path, f"private_params/{i}/{name}", f"expected shape {first} like theta 0, found {this}"
                )
