"""Zarr volumes with DaCapo's attribute conventions (spec §1).

A container ``{dataset}.zarr`` (zarr format 2) holds arrays such as ``raw``, ``labels``, ``mask``,
``classes``; each carries the attributes ``voxel_size`` [vz, vy, vx] and ``offset`` [oz, oy, ox] in
world units (the offset a multiple of the voxel size), ``axis_names`` (["z", "y", "x"]; channel axes
end in "^": ["c^", "z", "y", "x"]) and ``units`` (spatial axes only). The array's ROI is
[offset, offset + shape·voxel_size) in world units (:class:`snakelab.segment.roi.Roi`).

:func:`open_volume` reads and checks those attributes; :func:`write_volume` writes a whole container
under a temporary name and renames it (a killed job leaves no container that looks finished).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core.errors import InputError
from snakelab.segment.roi import Roi, grow, intersect, on_grid, snap, voxels

__all__ = ["Roi", "Volume", "grow", "intersect", "open_volume", "read_array", "snap", "write_volume"]

#: default chunk edge (voxels) of spatial axes
CHUNK = 64


@dataclass
class Volume:
    """An array with its world-space placement.

    ``data``: a NumPy array or an opened zarr array, shape (*channels, z, y, x); ``voxel_size`` and
    ``offset``: spatial, world units; ``axis_names``: one per axis of ``data``; ``units``: one per
    spatial axis; ``attrs``: further attributes written with the array (``value_range``, ``run`` ...).
    """

    data: Any
    voxel_size: tuple[int, ...]
    offset: tuple[int, ...]
    axis_names: list[str] = field(default_factory=lambda: ["z", "y", "x"])
    units: list[str] = field(default_factory=lambda: ["nm", "nm", "nm"])
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.voxel_size = tuple(int(v) for v in self.voxel_size)
        self.offset = tuple(int(v) for v in self.offset)
        if len(self.axis_names) != len(self.data.shape):
            raise ValueError(f"axis_names {self.axis_names} do not match the array shape {self.data.shape}")

    @property
    def channel_dims(self) -> int:
        """Number of leading channel axes (names ending in ``^``)."""
        return sum(1 for a in self.axis_names if a.endswith("^"))

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.data.shape[self.channel_dims :])

    @property
    def roi(self) -> Roi:
        """[offset, offset + shape·voxel_size), world units."""
        shape = tuple(s * v for s, v in zip(self.spatial_shape, self.voxel_size, strict=True))
        return Roi(self.offset, shape)

    def to_ndarray(self, roi: Roi | None = None, fill: float = 0) -> np.ndarray:
        """The data inside ``roi`` (world units, on the voxel grid) as a NumPy array; voxels outside
        the array's ROI are ``fill``. Channel axes are returned whole: shape (*channels, *roi voxels)."""
        if roi is None:
            return np.asarray(self.data[...])
        if not (on_grid(roi.offset, self.voxel_size) and on_grid(roi.shape, self.voxel_size)):
            raise ValueError(f"{roi} is not on the voxel grid {self.voxel_size} of this volume")
        _, shape = voxels(roi, self.voxel_size)
        channels = tuple(int(s) for s in self.data.shape[: self.channel_dims])
        out = np.full(channels + shape, fill, dtype=self.data.dtype)
        inside = intersect(roi, self.roi)
        if inside.empty():
            return out
        src_begin = [
            (b - o) // v for b, o, v in zip(inside.offset, self.offset, self.voxel_size, strict=True)
        ]
        dst_begin = [(b - o) // v for b, o, v in zip(inside.offset, roi.offset, self.voxel_size, strict=True)]
        extent = [s // v for s, v in zip(inside.shape, self.voxel_size, strict=True)]
        lead = (slice(None),) * self.channel_dims
        src = lead + tuple(slice(b, b + e) for b, e in zip(src_begin, extent, strict=True))
        dst = lead + tuple(slice(b, b + e) for b, e in zip(dst_begin, extent, strict=True))
        out[dst] = self.data[src]
        return out


def _attr(path: Path, attrs: Mapping[str, Any], key: str, length: int) -> tuple[int, ...]:
    if key not in attrs:
        raise InputError(path, key, f"missing attribute (expected {length} integers in world units)")
    value = attrs[key]
    if (
        not isinstance(value, (list, tuple))
        or len(value) != length
        or not all(isinstance(v, (int, float)) and float(v) == int(v) for v in value)
    ):
        raise InputError(path, key, f"expected {length} integers in world units, found {value!r}")
    return tuple(int(v) for v in value)


def open_volume(path: str | os.PathLike[str], mode: str = "r") -> Volume:
    """Open ``<container>.zarr/<array>`` and check its attributes (see module docstring).

    Raises :class:`InputError` for a missing array, a missing or malformed ``voxel_size``/``offset``,
    a non-positive voxel size, or an offset not on the voxel grid.
    """
    import zarr

    path = Path(path)
    try:
        array = zarr.open_array(str(path), mode=mode)
    except (FileNotFoundError, zarr.errors.ArrayNotFoundError, zarr.errors.NodeTypeValidationError) as exc:
        raise InputError(path, "array", f"expected a zarr array ({type(exc).__name__})") from None
    attrs = dict(array.attrs)
    axis_names = list(attrs.get("axis_names") or [])
    n_channel = sum(1 for a in axis_names if str(a).endswith("^"))
    if not axis_names:
        axis_names = ["z", "y", "x"][-array.ndim :] if array.ndim <= 3 else ["c^", "z", "y", "x"]
        n_channel = array.ndim - len([a for a in axis_names if not a.endswith("^")])
    if len(axis_names) != array.ndim:
        raise InputError(path, "axis_names", f"expected {array.ndim} names, found {axis_names}")
    spatial = array.ndim - n_channel
    voxel_size = _attr(path, attrs, "voxel_size", spatial)
    offset = _attr(path, attrs, "offset", spatial)
    if any(v <= 0 for v in voxel_size):
        raise InputError(path, "voxel_size", f"expected positive sizes, found {list(voxel_size)}")
    if not on_grid(offset, voxel_size):
        raise InputError(
            path, "offset", f"expected a multiple of voxel_size {list(voxel_size)}, found {list(offset)}"
        )
    units = list(attrs.get("units") or ["nm"] * spatial)
    extra = {k: v for k, v in attrs.items() if k not in ("voxel_size", "offset", "axis_names", "units")}
    return Volume(array, voxel_size, offset, axis_names, units, extra)


def read_array(path: str | os.PathLike[str]) -> Volume:
    """:func:`open_volume` with the data loaded into memory as a NumPy array."""
    volume = open_volume(path)
    volume.data = np.asarray(volume.data[...])
    return volume


def _chunks(volume: Volume, chunks: Sequence[int] | None) -> tuple[int, ...]:
    lead = tuple(int(s) for s in volume.data.shape[: volume.channel_dims])
    spatial = volume.spatial_shape
    if chunks is None:
        return lead + tuple(max(1, min(s, CHUNK)) for s in spatial)
    return lead + tuple(max(1, min(int(c), s)) for c, s in zip(chunks, spatial, strict=True))


def write_volume(
    path: str | os.PathLike[str],
    arrays: Mapping[str, Volume],
    chunks: Mapping[str, Sequence[int]] | None = None,
) -> Path:
    """Write the container ``path`` (``.zarr``, zarr format 2) holding ``arrays`` (name → Volume).

    The container is written under a temporary name in the same directory and renamed onto
    ``path`` when complete (an existing container is replaced). ``chunks``: spatial chunk shape per
    array name (default min(shape, 64) per axis; channel axes in one chunk). Returns ``path``.
    """
    import zarr

    from snakelab.core.atomic import atomic_directory

    chunks = chunks or {}
    path = Path(path)
    with atomic_directory(path) as tmp:
        group = zarr.open_group(str(tmp), mode="w", zarr_format=2)
        for name, volume in arrays.items():
            if not on_grid(volume.offset, volume.voxel_size):
                raise InputError(
                    path / name,
                    "offset",
                    f"expected a multiple of voxel_size {list(volume.voxel_size)}, "
                    f"found {list(volume.offset)}",
                )
            data = np.asarray(volume.data)
            attrs = {
                "voxel_size": list(volume.voxel_size),
                "offset": list(volume.offset),
                "axis_names": list(volume.axis_names),
                "units": list(volume.units),
                **volume.attrs,
            }
            array = group.create_array(
                name,
                shape=data.shape,
                dtype=data.dtype,
                chunks=_chunks(volume, chunks.get(name)),
                attributes=attrs,
            )
            array[...] = data
    return path
