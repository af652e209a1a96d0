"""Building the screens of the prepare steps: chosen rows with new plate names and observed flags.

Every step keeps the mappings (treatment and sample universe) of the screen it was given, so ids never
shift between steps; plate ids are re-derived from the new plate names (rank of the name). Plate
generators and smoothers work on the unobserved rows only and append the observed rows unchanged
(:func:`regenerate_unobserved`). Only numpy is imported besides the package.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from snakelab.batchie.data import Screen
from snakelab.core.errors import InputError

__all__ = [
    "PlateAssignment",
    "generated_plate_names",
    "plate_names_by_id",
    "plate_rows",
    "rebuild",
    "regenerate_unobserved",
    "require_one_sample_plates",
]

PlateAssignment = Callable[[Screen, np.random.Generator], tuple[np.ndarray, np.ndarray]]
"""A step on an all-unobserved screen: returns (rows (k,) int64 into it, plate names (k,) str)."""


def rebuild(
    screen: Screen,
    rows: np.ndarray,
    plate_names: np.ndarray | None = None,
    observation_mask: np.ndarray | None = None,
) -> Screen:
    """A new screen of ``screen``'s rows ``rows`` ((k,) int64, in that order), same mappings.

    ``plate_names`` ((k,) str) and ``observation_mask`` ((k,) bool) replace the chosen rows' values when
    given; observations are the chosen rows' stored values (the truth in a retrospective screen).
    """
    rows = np.asarray(rows, dtype=np.int64)
    return Screen(
        screen.treatment_names[rows],
        screen.treatment_doses[rows],
        screen.sample_names[rows],
        screen.plate_names[rows] if plate_names is None else plate_names,
        screen.observations[rows],
        screen.observation_mask[rows] if observation_mask is None else observation_mask,
        control_treatment_name=screen.control_treatment_name,
        treatment_mapping=screen.treatment_mapping,
        sample_mapping=screen.sample_mapping,
    )


def regenerate_unobserved(screen: Screen, rng: np.random.Generator, assign: PlateAssignment) -> Screen:
    """Apply ``assign`` to the unobserved rows; return its rows (unobserved), then the observed rows.

    ``assign`` receives a screen of the unobserved rows (in screen order) and returns which of them to
    keep, in output order, and their new plate names. Observed rows keep their plates and values.
    """
    unobserved = np.flatnonzero(~screen.observation_mask)
    observed = np.flatnonzero(screen.observation_mask)
    rows, names = assign(screen.subset(unobserved), rng)
    rows = np.asarray(rows, dtype=np.int64)
    return rebuild(
        screen,
        np.concatenate([unobserved[rows], observed]),
        np.concatenate([np.asarray(names, dtype=str), screen.plate_names[observed]]),
        np.concatenate([np.zeros(rows.size, dtype=bool), np.ones(observed.size, dtype=bool)]),
    )


def generated_plate_names(indices: np.ndarray) -> np.ndarray:
    """``generated_plate_{idx}`` (str, same shape) for integer plate indices."""
    indices = np.asarray(indices, dtype=np.int64)
    distinct, inverse = np.unique(indices, return_inverse=True)
    names = np.char.add("generated_plate_", distinct.astype(str))
    return names[inverse].reshape(indices.shape)


def plate_rows(plate_ids: np.ndarray) -> list[np.ndarray]:
    """Row indices ((k,) int64, ascending) of each plate id 0..max, from (n,) int64 plate ids."""
    plate_ids = np.asarray(plate_ids, dtype=np.int64)
    if plate_ids.size == 0:
        return []
    order = np.argsort(plate_ids, kind="stable")
    bounds = np.cumsum(np.bincount(plate_ids))[:-1]
    return np.split(order, bounds)


def plate_names_by_id(screen: Screen) -> np.ndarray:
    """(p,) str: the name of each plate id of ``screen``."""
    names = np.empty(screen.n_plates, dtype=screen.plate_names.dtype)
    names[screen.plate_ids] = screen.plate_names
    return names


def require_one_sample_plates(
    plate_ids: np.ndarray, sample_ids: np.ndarray, plate_names: np.ndarray, who: str
) -> np.ndarray:
    """(p,) int64 sample id of each plate, −1 for plates without rows; InputError naming ``plate_names``
    if a plate holds several samples.

    ``plate_ids``, ``sample_ids``: (n,) int64 per row; ``plate_names``: (p,) str name of each plate id.
    """
    n_samples = int(np.max(sample_ids, initial=-1)) + 1
    pairs = np.unique(np.asarray(plate_ids) * n_samples + sample_ids)
    pair_plate, pair_sample = np.divmod(pairs, max(n_samples, 1))
    per_plate = np.bincount(pair_plate, minlength=plate_names.size)
    mixed = np.flatnonzero(per_plate > 1)
    if mixed.size:
        raise InputError(
            None,
            "plate_names",
            f"{who} expected one-sample plates, found plate {str(plate_names[mixed[0]])!r} "
            f"with {per_plate[mixed[0]]} samples",
        )
    sample_of_plate = np.full(plate_names.size, -1, dtype=np.int64)
    sample_of_plate[pair_plate] = pair_sample
    return sample_of_plate
