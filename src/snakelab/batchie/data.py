"""Combination screens: :class:`Screen`, its views :class:`ScreenSubset` and :class:`Plate`, and HDF5 I/O.

A screen holds n experiments (rows). Each row has ``a`` treatment slots (arity; 2 for combinations),
each a (name, dose) pair, one sample, one plate, one observation (viability) and an observed flag.
Plates are all-observed or all-unobserved. Ids are never trusted from input: treatment and sample ids
come from the :class:`ExperimentSpace` (the stored mappings, or the rows), plate ids are the rank of
the plate name among the screen's sorted distinct plate names (spec §2.1).

On disk (``*.screen.h5``, BATCHIE's layout; all datasets gzip level 4, no timestamps, so the same
content gives the same bytes):

=============================================== =========== ========== ==================================
dataset                                         dtype       shape      meaning
=============================================== =========== ========== ==================================
``treatment_names``                             S           (n, a)     drug per slot (controls: control name)
``treatment_doses``                             f8          (n, a)     dose per slot (≤ 0: control)
``treatment_ids``                               i8          (n, a)     written, ignored on load
``treatment_mapping_names/_doses/_ids``         S / f8 / i8 (T′,)      universe of (name, dose) → id
``observations``                                f8          (n,)       viability
``observation_mask``                            bool        (n,)       observed flag
``sample_ids`` / ``sample_names``               i8 / S      (n,)       ids written, ignored on load
``sample_mapping_names`` / ``_ids``             S / i8      (C,)       universe of samples
``plate_ids`` / ``plate_names``                 i8 / S      (n,)       ids written, ignored on load
attribute ``control_treatment_name``            str                    variable-length string
=============================================== =========== ========== ==================================

Only numpy and h5py are imported.
"""

from __future__ import annotations

import os
from typing import Any

import h5py
import numpy as np
from numpy.typing import ArrayLike

from snakelab.batchie.experiment_space import (
    ExperimentSpace,
    as_floats,
    as_strings,
    encode_utf8,
    sample_mapping_arrays,
    treatment_mapping_arrays,
    unique_pairs,
    unique_strings,
)
from snakelab.batchie.screen_views import Plate, ScreenRows, ScreenSubset, row_indices
from snakelab.core.atomic import atomic_path
from snakelab.core.errors import InputError

__all__ = ["ExperimentSpace", "Plate", "Screen", "ScreenSubset"]

_ROW_FIELDS = (
    "treatment_names",
    "treatment_doses",
    "treatment_ids",
    "sample_names",
    "sample_ids",
    "plate_names",
    "plate_ids",
    "observations",
    "observation_mask",
)
_REQUIRED_DATASETS = (
    "treatment_names",
    "treatment_doses",
    "sample_names",
    "plate_names",
    "observations",
    "observation_mask",
)
_GZIP: dict[str, Any] = {"compression": "gzip", "compression_opts": 4, "track_times": False}


class Screen(ScreenRows):
    """A combination screen: rows of (treatments, sample, plate, observation, observed flag).

    Parameters
    ----------
    treatment_names:
        (n, a) strings (str, or UTF-8 bytes as read from HDF5): drug per slot.
    treatment_doses:
        (n, a) floats: dose per slot; ``dose <= 0`` marks a control slot.
    sample_names, plate_names:
        (n,) strings.
    observations:
        (n,) floats, or ``None`` for zeros. Observed rows must be finite.
    observation_mask:
        (n,) bool, or ``None``: all observed when ``observations`` is given, else none.
    control_treatment_name:
        Name marking a control slot whatever its dose.
    treatment_mapping, sample_mapping:
        The universe (``{(name, dose): id}``, ``{sample_name: id}``) fixing the ids; ``None`` derives it
        from the rows (spec §2.1). Control pairs of the rows missing from a given mapping are added.

    Invalid input raises :class:`~snakelab.core.errors.InputError` naming the field. Arrays returned by
    the properties are read-only; :meth:`set_observed` is the one mutation.
    """

    def __init__(
        self,
        treatment_names: ArrayLike,
        treatment_doses: ArrayLike,
        sample_names: ArrayLike,
        plate_names: ArrayLike,
        observations: ArrayLike | None = None,
        observation_mask: ArrayLike | None = None,
        control_treatment_name: str = "",
        treatment_mapping: dict[tuple[str, float], int] | None = None,
        sample_mapping: dict[str, int] | None = None,
    ) -> None:
        self._init(
            treatment_names,
            treatment_doses,
            sample_names,
            plate_names,
            observations,
            observation_mask,
            control_treatment_name,
            None if treatment_mapping is None else treatment_mapping_arrays(treatment_mapping),
            None if sample_mapping is None else sample_mapping_arrays(sample_mapping),
        )

    def _init(
        self,
        treatment_names: ArrayLike,
        treatment_doses: ArrayLike,
        sample_names: ArrayLike,
        plate_names: ArrayLike,
        observations: ArrayLike | None,
        observation_mask: ArrayLike | None,
        control_treatment_name: str,
        treatment_universe: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        sample_universe: tuple[np.ndarray, np.ndarray] | None,
    ) -> None:
        """Validate and encode the rows; universes are (names, doses, ids) / (names, ids) arrays or None."""
        if not isinstance(control_treatment_name, str):
            raise InputError(
                None, "control_treatment_name", f"expected a str, found {type(control_treatment_name)}"
            )
        names = as_strings(treatment_names, "treatment_names", 2)
        doses = as_floats(treatment_doses, "treatment_doses", 2)
        if doses.shape != names.shape:
            raise InputError(
                None,
                "treatment_doses",
                f"expected shape {names.shape} like treatment_names, found {doses.shape}",
            )
        if not np.all(np.isfinite(doses)):
            raise InputError(None, "treatment_doses", "expected finite doses, found NaN or inf")
        n = names.shape[0]
        samples = _row_strings(sample_names, "sample_names", n)
        plates = _row_strings(plate_names, "plate_names", n)
        if observations is None:
            obs = np.zeros(n, dtype=np.float64)
        else:
            obs = as_floats(observations, "observations", 1)
            _check_length(obs, "observations", n)
        if observation_mask is None:
            mask = np.full(n, observations is not None, dtype=bool)
        else:
            mask = np.array(observation_mask, copy=True)
            if mask.dtype != np.bool_:
                raise InputError(None, "observation_mask", f"expected bool, found dtype {mask.dtype}")
            _check_length(mask, "observation_mask", n)
        _check_observed_finite(obs, mask)

        # encode distinct values once; every lookup below works on the (small) distinct sets
        flat_names, flat_doses = names.ravel(), doses.ravel()
        pair_index, pair_of_slot = unique_pairs(flat_names, flat_doses)
        pair_names, pair_doses = flat_names[pair_index], flat_doses[pair_index]
        distinct_samples, sample_of_row = unique_strings(samples)
        if treatment_universe is None or sample_universe is None:
            derived = ExperimentSpace.from_rows(
                pair_names, pair_doses, distinct_samples, control_treatment_name
            )
            if treatment_universe is None:
                treatment_universe = (derived.treatment_names, derived.treatment_doses, derived.treatment_ids)
            if sample_universe is None:
                sample_universe = (derived.sample_names, derived.sample_ids)
        space = ExperimentSpace(*treatment_universe, *sample_universe, control_treatment_name)
        space = space.with_controls(pair_names, pair_doses)
        arrays = {
            "treatment_names": names,
            "treatment_doses": doses,
            "treatment_ids": space.encode_treatments(pair_names, pair_doses)[pair_of_slot].reshape(
                names.shape
            ),
            "sample_names": samples,
            "sample_ids": space.encode_samples(distinct_samples)[sample_of_row],
            "plate_names": plates,
            "observations": obs,
            "observation_mask": mask,
        }
        self._assemble(space, arrays)

    def _assemble(self, space: ExperimentSpace, arrays: dict[str, np.ndarray]) -> None:
        """Set the state from validated, encoded row arrays: derive plate ids, check plates, freeze."""
        arrays["plate_ids"] = unique_strings(arrays["plate_names"])[1]
        _check_plates(arrays["plate_names"], arrays["plate_ids"], arrays["observation_mask"])
        for arr in arrays.values():
            arr.flags.writeable = False
        self._space = space
        self._arrays = arrays

    def _get(self, field: str) -> np.ndarray:
        return self._arrays[field]

    @property
    def experiment_space(self) -> ExperimentSpace:
        """The universe of treatments and samples (the mappings)."""
        return self._space

    @property
    def control_treatment_name(self) -> str:
        """Name marking a control slot (``""`` when only doses mark controls)."""
        return self._space.control_treatment_name

    @property
    def treatment_mapping(self) -> dict[tuple[str, float], int]:
        """``{(name, dose): id}`` of the universe, controls included with id −1."""
        return self._space.treatment_mapping

    @property
    def sample_mapping(self) -> dict[str, int]:
        """``{sample_name: id}`` of the universe."""
        return self._space.sample_mapping

    @property
    def plates(self) -> list[Plate]:
        """One :class:`Plate` view per plate, in plate-id order."""
        if self.size == 0:
            return []
        order = np.argsort(self.plate_ids, kind="stable")
        bounds = np.cumsum(np.bincount(self.plate_ids, minlength=self.n_plates))[:-1]
        return [Plate(self, plate_id, rows) for plate_id, rows in enumerate(np.split(order, bounds))]

    def get_plate(self, plate_id: int) -> Plate:
        """The :class:`Plate` view with this id; InputError if the screen has no such plate."""
        if not 0 <= int(plate_id) < self.n_plates:
            raise InputError(
                None, "plate_id", f"expected a plate id in 0..{self.n_plates - 1}, found {plate_id}"
            )
        return Plate(self, int(plate_id), np.flatnonzero(self.plate_ids == int(plate_id)))

    def select(self, selection: ArrayLike) -> ScreenSubset:
        """A :class:`ScreenSubset` view of the rows chosen by a (n,) bool mask or integer indices."""
        return ScreenSubset(self, selection)

    def subset(self, selection: ArrayLike) -> Screen:
        """A new screen of the chosen rows, same mappings, plate ids re-ranked among its plates.

        ``selection`` is a (n,) bool mask (rows keep their order) or integer row indices (rows come
        in the given order).
        """
        rows = row_indices(selection, self.size)
        arrays = {f: self._arrays[f][rows] for f in _ROW_FIELDS if f != "plate_ids"}
        screen = object.__new__(Screen)
        screen._assemble(self._space, arrays)
        return screen

    def subset_observed(self) -> Screen:
        """A new screen of the observed rows."""
        return self.subset(self.observation_mask)

    def subset_unobserved(self) -> Screen:
        """A new screen of the unobserved rows."""
        return self.subset(~self.observation_mask)

    def copy(self) -> Screen:
        """An independent screen with the same content (arrays are read-only, so they are shared)."""
        return self.subset(np.arange(self.size))

    def set_observed(self, selection: ArrayLike, observations: ArrayLike | None = None) -> None:
        """Mark the chosen rows observed, in place; optionally set their values.

        ``selection``: (n,) bool mask or integer indices; ``observations``: one float per chosen row
        (in selection order), or ``None`` to keep the stored values. Plates must stay all-observed or
        all-unobserved and observed values finite; on error the screen is unchanged.
        """
        rows = row_indices(selection, self.size)
        obs = np.array(self.observations, copy=True)
        if observations is not None:
            values = as_floats(observations, "observations", 1)
            _check_length(values, "observations", rows.size)
            obs[rows] = values
        mask = np.array(self.observation_mask, copy=True)
        mask[rows] = True
        _check_observed_finite(obs, mask)
        arrays = dict(self._arrays, observations=obs, observation_mask=mask)
        del arrays["plate_ids"]
        self._assemble(self._space, arrays)

    @classmethod
    def load_h5(cls, path: str | os.PathLike[str]) -> Screen:
        """Read a screen written by :meth:`save_h5` or by BATCHIE; stored ids are ignored (re-derived)."""
        try:
            with h5py.File(path, "r") as f:
                data = {name: _read_dataset(f, name) for name in _REQUIRED_DATASETS}
                control = f.attrs.get("control_treatment_name", "")
                if isinstance(control, bytes):
                    control = control.decode("utf-8")
                if not isinstance(control, str):
                    raise InputError(
                        None, "control_treatment_name", f"expected a string attribute, found {control!r}"
                    )
                t_universe = _read_optional(
                    f, ("treatment_mapping_names", "treatment_mapping_doses", "treatment_mapping_ids")
                )
                s_universe = _read_optional(f, ("sample_mapping_names", "sample_mapping_ids"))
            screen = object.__new__(cls)
            screen._init(
                data["treatment_names"],
                data["treatment_doses"],
                data["sample_names"],
                data["plate_names"],
                data["observations"],
                data["observation_mask"],
                control,
                t_universe,
                s_universe,
            )
            return screen
        except InputError as exc:
            raise InputError(path, exc.field, exc.expected) from None
        except FileNotFoundError:
            raise InputError(path, "file", "expected an existing HDF5 file, found none") from None
        except OSError as exc:
            raise InputError(path, "file", f"expected a readable HDF5 file ({exc})") from None

    def save_h5(self, path: str | os.PathLike[str]) -> None:
        """Write atomically in BATCHIE's layout (module docstring); the same content gives the same bytes."""
        space = self._space
        datasets = {
            "treatment_names": encode_utf8(self.treatment_names),
            "treatment_doses": self.treatment_doses,
            "treatment_ids": self.treatment_ids,
            "treatment_mapping_names": encode_utf8(space.treatment_names),
            "treatment_mapping_doses": space.treatment_doses,
            "treatment_mapping_ids": space.treatment_ids,
            "observations": self.observations,
            "observation_mask": self.observation_mask,
            "sample_ids": self.sample_ids,
            "sample_names": encode_utf8(self.sample_names),
            "sample_mapping_names": encode_utf8(space.sample_names),
            "sample_mapping_ids": space.sample_ids,
            "plate_ids": self.plate_ids,
            "plate_names": encode_utf8(self.plate_names),
        }
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
            for name, data in datasets.items():
                f.create_dataset(name, data=data, **_GZIP)
            f.attrs["control_treatment_name"] = self.control_treatment_name

    def __repr__(self) -> str:
        return (
            f"Screen(size={self.size}, arity={self.arity}, n_plates={self.n_plates}, "
            f"n_unobserved_plates={self.n_unobserved_plates}, "
            f"control_treatment_name={self.control_treatment_name!r})"
        )


def _check_length(arr: np.ndarray, field: str, n: int) -> None:
    if arr.shape != (n,):
        raise InputError(None, field, f"expected shape ({n},) like treatment_names' rows, found {arr.shape}")


def _check_observed_finite(obs: np.ndarray, mask: np.ndarray) -> None:
    bad = np.flatnonzero(mask & ~np.isfinite(obs))
    if bad.size:
        raise InputError(
            None,
            "observations",
            f"expected finite values in observed rows, found {obs[bad[0]]} in row {bad[0]}",
        )


def _row_strings(values: ArrayLike, field: str, n: int) -> np.ndarray:
    arr = as_strings(values, field, 1)
    _check_length(arr, field, n)
    return arr


def _check_plates(plate_names: np.ndarray, plate_ids: np.ndarray, mask: np.ndarray) -> None:
    """InputError unless every plate is all-observed or all-unobserved."""
    sizes = np.bincount(plate_ids)
    observed = np.bincount(plate_ids, weights=mask)
    mixed = np.flatnonzero((observed > 0) & (observed < sizes))
    if mixed.size:
        name = str(plate_names[np.flatnonzero(plate_ids == mixed[0])[0]])
        raise InputError(
            None,
            "observation_mask",
            f"expected each plate all-observed or all-unobserved, found plate {name!r} mixed",
        )


def _read_dataset(f: h5py.File, name: str) -> np.ndarray:
    if name not in f:
        raise InputError(None, name, "expected this dataset, found it missing")
    obj = f[name]
    if not isinstance(obj, h5py.Dataset):
        raise InputError(None, name, f"expected a dataset, found {type(obj).__name__}")
    if h5py.check_string_dtype(obj.dtype) is not None and obj.dtype.kind == "O":
        return obj.asstr()[()]
    return obj[()]


def _read_optional(f: h5py.File, names: tuple[str, ...]) -> tuple[np.ndarray, ...] | None:
    """All of ``names`` (one mapping), or ``None`` when none is present; InputError when some are missing."""
    present = [name in f for name in names]
    if not any(present):
        return None
    return tuple(_read_dataset(f, name) for name in names)
