"""The ``make-data`` and ``convert`` stages (spec §2): datasets as ``{dataset}.zarr`` containers.

``make_data`` writes synthetic spheres (``raw`` uint8, ``labels`` uint64, ``classes`` uint8);
``convert`` reads .npy, .h5 (``file.h5:dataset``) or .tif arrays (z, y, x) and writes them with
``voxel_size``, ``offset``, ``axis_names`` and ``units``. Raw and labels must agree in shape (one
line naming both otherwise); offsets must lie on the voxel grid.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core.errors import InputError
from snakelab.segment.volumes import Volume, write_volume

SPHERE_KEYS = ("shape", "n_objects", "radius", "gap", "intensity", "background", "blur", "noise", "seed")


def _placement(spec: Mapping[str, Any], where: str) -> tuple[tuple[int, ...], tuple[int, ...], list[str]]:
    voxel_size = tuple(int(v) for v in spec.get("voxel_size") or (1, 1, 1))
    offset = tuple(int(v) for v in spec.get("offset") or (0, 0, 0))
    if len(voxel_size) != 3 or len(offset) != 3 or any(v <= 0 for v in voxel_size):
        raise InputError(where, "voxel_size", f"expected 3 positive integers, found {list(voxel_size)}")
    if any(o % v for o, v in zip(offset, voxel_size, strict=True)):
        raise InputError(
            where, "offset", f"{list(offset)} is not a multiple of voxel_size {list(voxel_size)}"
        )
    units = spec.get("units") or "nm"
    return voxel_size, offset, [units] * 3 if isinstance(units, str) else list(units)


def make_data(spec: Mapping[str, Any], output: str | os.PathLike[str]) -> Path:
    """Write the synthetic dataset of ``spec`` (a ``segment.data`` entry of kind ``spheres``)."""
    from snakelab.segment.synthetic import Spheres, make_spheres

    voxel_size, offset, units = _placement(spec, "config")
    settings = Spheres(
        **{
            k: tuple(spec[k]) if isinstance(spec[k], list) else spec[k]
            for k in SPHERE_KEYS
            if spec.get(k) is not None
        }
    )
    arrays = make_spheres(settings)
    return write_volume(output, {k: Volume(v, voxel_size, offset, units=units) for k, v in arrays.items()})


def read_input_array(source: str) -> np.ndarray:
    """A (z, y, x) array from ``file.npy``, ``file.h5:dataset`` or ``file.tif``."""
    path, _, dataset = source.partition(":") if ".h5:" in source or ".hdf5:" in source else (source, "", "")
    file = Path(path)
    if not file.exists():
        raise InputError(file, "file", "not found")
    if file.suffix == ".npy":
        data = np.load(file)
    elif file.suffix in (".h5", ".hdf5"):
        import h5py

        if not dataset:
            raise InputError(file, "dataset", "expected file.h5:dataset")
        with h5py.File(file, "r") as handle:
            if dataset not in handle:
                raise InputError(file, dataset, "no such dataset")
            data = handle[dataset][...]
    elif file.suffix in (".tif", ".tiff"):
        try:
            import tifffile
        except ImportError:
            raise InputError(file, "format", "reading .tif needs the optional package tifffile") from None
        data = tifffile.imread(file)
    else:
        raise InputError(file, "format", "expected .npy, .h5:dataset or .tif")
    if data.ndim != 3:
        raise InputError(file, "shape", f"expected a 3-D (z, y, x) array, found shape {data.shape}")
    return data


def convert(
    raw: str,
    labels: str,
    output: str | os.PathLike[str],
    voxel_size: Sequence[int],
    offset: Sequence[int] = (0, 0, 0),
    units: str = "nm",
    mask: str | None = None,
    classes: str | None = None,
) -> Path:
    """Write ``raw`` (uint8 or float32) and ``labels`` (→ uint64) (+ ``mask``, ``classes``) as one dataset."""
    spec = {"voxel_size": list(voxel_size), "offset": list(offset), "units": units}
    vs, off, unit_list = _placement(spec, raw)
    raw_data = read_input_array(raw)
    if raw_data.dtype != np.uint8:
        raw_data = raw_data.astype(np.float32)
    arrays = {"raw": raw_data}
    for name, source, dtype in (
        ("labels", labels, np.uint64),
        ("mask", mask, np.uint8),
        ("classes", classes, np.uint8),
    ):
        if source is None:
            continue
        data = read_input_array(source)
        if data.shape != raw_data.shape:
            raise InputError(
                source, "shape", f"{name} shape {data.shape} differs from raw shape {raw_data.shape}"
            )
        if np.issubdtype(data.dtype, np.floating) or (
            np.issubdtype(data.dtype, np.signedinteger) and data.min() < 0
        ):
            raise InputError(source, "dtype", f"expected non-negative integer {name}, found {data.dtype}")
        arrays[name] = data.astype(dtype)
    return write_volume(output, {k: Volume(v, vs, off, units=unit_list) for k, v in arrays.items()})
