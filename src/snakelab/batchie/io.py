"""Small readers and writers around screens: the unobserved-plate count and ``screen_metadata.json``.

:func:`count_unobserved_plates` is what the Snakefile calls after the prepare checkpoint, so it reads
only two datasets and builds no :class:`~snakelab.batchie.data.Screen`. Only numpy, h5py and the
standard library are imported.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np

from snakelab.batchie.experiment_space import unique_strings
from snakelab.core.atomic import write_text
from snakelab.core.errors import InputError

if TYPE_CHECKING:
    from snakelab.batchie.data import Screen

__all__ = ["count_unobserved_plates", "screen_metadata", "write_screen_metadata"]


def count_unobserved_plates(path: str | os.PathLike[str]) -> int:
    """Number of distinct plate names with unobserved rows in a screen file (spec §3.3's U).

    Reads only ``plate_names`` (S, (n,)) and ``observation_mask`` (bool, (n,)). Raises
    :class:`InputError` naming the file and dataset when either is missing or malformed.
    """
    try:
        with h5py.File(path, "r") as f:
            for name in ("plate_names", "observation_mask"):
                if not isinstance(f.get(name), h5py.Dataset):
                    raise InputError(path, name, "expected this dataset, found it missing")
            plate_names = f["plate_names"]
            names = plate_names.asstr()[()].astype(str) if plate_names.dtype.kind == "O" else plate_names[()]
            mask = f["observation_mask"][()]
    except FileNotFoundError:
        raise InputError(path, "file", "expected an existing HDF5 file, found none") from None
    except OSError as exc:
        raise InputError(path, "file", f"expected a readable HDF5 file ({exc})") from None
    if mask.dtype != np.bool_ or mask.ndim != 1:
        raise InputError(path, "observation_mask", f"expected 1-D bool, found {mask.dtype} {mask.shape}")
    if names.shape != mask.shape:
        raise InputError(
            path, "plate_names", f"expected shape {mask.shape} like observation_mask, found {names.shape}"
        )
    unobserved = names[~mask]
    if unobserved.dtype.kind not in "SU":
        raise InputError(path, "plate_names", f"expected strings, found dtype {names.dtype}")
    return int(unique_strings(unobserved)[0].size)


def screen_metadata(screen: Screen) -> dict[str, int]:
    """The ``screen_metadata.json`` content of a screen (spec §2.5), keys in the documented order.

    ``n_unique_samples`` and ``n_unique_treatments`` count distinct ids present in the rows (control −1
    excluded); ``size`` is the number of rows; plates are counted by observed state.
    """
    return {
        "n_unique_samples": int(screen.n_unique_samples),
        "n_unique_treatments": int(screen.n_unique_treatments),
        "size": int(screen.size),
        "n_plates": int(screen.n_plates),
        "n_unobserved_plates": int(screen.n_unobserved_plates),
        "n_observed_plates": int(screen.n_observed_plates),
    }


def write_screen_metadata(screen: Screen, path: str | os.PathLike[str]) -> Path:
    """Write :func:`screen_metadata` as JSON (indent 4, no trailing newline) atomically; return the path."""
    return write_text(path, json.dumps(screen_metadata(screen), indent=4))
