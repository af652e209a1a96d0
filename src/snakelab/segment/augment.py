"""Training augments (spec §6), applied in list order to one sample's arrays.

A sample is a dict of equally shaped spatial arrays (z, y, x): ``raw`` (float32 in [0, 1]) and the
label-like arrays (``labels``, ``mask``, ``classes``, a precomputed ``distance``) that move with it.
Every augment fires with probability ``p`` (default 1) and transforms all arrays identically:

- ``simple``: flip each axis with probability 0.5, then permute the axes that share voxel size and
  window shape;
- ``intensity``: raw ← clip(μ + s(raw − μ) + h, 0, 1), μ the sample mean, s ~ U(scale), h ~ U(shift);
- ``gamma``: raw ← raw^γ, γ ~ U(range);
- ``elastic``: Gaussian displacements (σ = ``displacement_sigma`` voxels) on a grid of
  ``control_point_spacing`` voxels, interpolated on a grid subsampled by ``subsample``, plus a
  rotation in the y–x plane by an angle ~ U(``rotation``) (radians); raw trilinear, the rest
  nearest. Its input is the window grown by :func:`source_margin` per side, its output the window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

RAW = "raw"


def source_margin(augments: Sequence[Mapping[str, Any]], shape: Sequence[int]) -> tuple[int, ...]:
    """Voxels to add on each side of the window so that elastic samples stay inside the source."""
    margin = [0, 0, 0]
    for aug in augments:
        if aug["type"] != "elastic":
            continue
        sigma = [float(s) for s in _triple(aug.get("displacement_sigma", [1.0, 1.0, 1.0]))]
        angle = max(abs(float(a)) for a in aug.get("rotation", [0.0, 0.0]))
        radius = math.hypot(shape[1], shape[2]) / 2
        rot = radius * math.sin(min(angle, math.pi / 2)) + radius * (1 - math.cos(min(angle, math.pi / 2)))
        for axis in range(3):
            extra = 3.0 * sigma[axis] + (rot if axis > 0 else 0.0)
            margin[axis] += math.ceil(extra) + 1
    return tuple(margin)


def _triple(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value] * 3


def simple(sample: dict[str, np.ndarray], rng: np.random.Generator, voxel_size: Sequence[int]) -> None:
    """Flip each axis with probability 0.5, then permute axes of equal voxel size and window shape."""
    flips = rng.random(3) < 0.5
    shape = next(iter(sample.values())).shape
    groups: dict[tuple[int, int], list[int]] = {}
    for axis in range(3):
        groups.setdefault((int(voxel_size[axis]), int(shape[axis])), []).append(axis)
    order = list(range(3))
    for axes in groups.values():
        if len(axes) > 1:
            permuted = list(rng.permutation(axes))
            for a, b in zip(axes, permuted, strict=True):
                order[a] = int(b)
    for key, array in sample.items():
        flipped = np.flip(array, axis=tuple(int(a) for a in np.flatnonzero(flips))) if flips.any() else array
        sample[key] = np.ascontiguousarray(np.transpose(flipped, order))


def intensity(
    sample: dict[str, np.ndarray], rng: np.random.Generator, scale: Sequence[float], shift: Sequence[float]
) -> None:
    raw = sample[RAW]
    mu = float(raw.mean())
    s = rng.uniform(*scale)
    h = rng.uniform(*shift)
    sample[RAW] = np.clip(mu + s * (raw - mu) + h, 0.0, 1.0).astype(np.float32)


def gamma(sample: dict[str, np.ndarray], rng: np.random.Generator, value_range: Sequence[float]) -> None:
    g = rng.uniform(*value_range)
    sample[RAW] = np.power(np.clip(sample[RAW], 0.0, 1.0), g).astype(np.float32)


def elastic(
    sample: dict[str, np.ndarray],
    rng: np.random.Generator,
    margin: Sequence[int],
    control_point_spacing: Sequence[int],
    displacement_sigma: Sequence[float],
    rotation: Sequence[float],
    subsample: int,
) -> None:
    """Warp the source arrays (window + 2·margin) onto the window (see module docstring)."""
    from scipy.ndimage import map_coordinates, zoom

    source_shape = next(iter(sample.values())).shape
    out_shape = tuple(s - 2 * m for s, m in zip(source_shape, margin, strict=True))
    coarse = tuple(max(1, -(-o // max(1, subsample))) for o in out_shape)
    control = tuple(
        max(2, -(-o // int(c)) + 1) for o, c in zip(out_shape, control_point_spacing, strict=True)
    )
    displacement = np.stack([rng.normal(0.0, float(sig), size=control) for sig in displacement_sigma])
    dense = np.stack(
        [
            zoom(d, [c / k for c, k in zip(coarse, control, strict=True)], order=1, mode="nearest")
            for d in displacement
        ]
    )
    grid = np.stack(
        np.meshgrid(
            *[np.linspace(0, o - 1, c) for o, c in zip(out_shape, coarse, strict=True)], indexing="ij"
        )
    )
    angle = rng.uniform(*rotation)
    centre = [(o - 1) / 2 for o in out_shape]
    y, x = grid[1] - centre[1], grid[2] - centre[2]
    cos, sin = math.cos(angle), math.sin(angle)
    coords = np.stack([grid[0], cos * y - sin * x + centre[1], sin * y + cos * x + centre[2]]) + dense
    coords += np.asarray(margin, dtype=float).reshape(3, 1, 1, 1)
    if coarse != out_shape:
        coords = np.stack(
            [zoom(c, [o / k for o, k in zip(out_shape, coarse, strict=True)], order=1) for c in coords]
        )
    for key, array in sample.items():
        order = 1 if key == RAW else 0
        sample[key] = map_coordinates(array, coords, order=order, mode="constant", cval=0).astype(array.dtype)


def apply(
    sample: dict[str, np.ndarray],
    augments: Sequence[Mapping[str, Any]],
    rng: np.random.Generator,
    voxel_size: Sequence[int],
    margin: Sequence[int],
) -> dict[str, np.ndarray]:
    """Apply ``augments`` in order to ``sample`` (modified and returned). ``margin``: the elastic source
    margin per side (:func:`source_margin`); the result has the window shape."""
    cropped = not any(m for m in margin)
    for aug in augments:
        fires = rng.random() < float(aug.get("p", 1.0))
        kind = aug["type"]
        if kind == "elastic":
            if fires:
                elastic(
                    sample,
                    rng,
                    margin,
                    _triple(aug.get("control_point_spacing", [10, 10, 10])),
                    _triple(aug.get("displacement_sigma", [1.0, 1.0, 1.0])),
                    aug.get("rotation", [0.0, 0.0]),
                    int(aug.get("subsample", 1)),
                )
            else:
                _crop_margin(sample, margin)
            cropped = True
        elif not fires:
            continue
        elif kind == "simple":
            simple(sample, rng, voxel_size)
        elif kind == "intensity":
            intensity(sample, rng, aug.get("scale", [0.9, 1.1]), aug.get("shift", [-0.1, 0.1]))
        elif kind == "gamma":
            gamma(sample, rng, aug.get("range", [0.8, 1.25]))
        else:
            raise ValueError(f"unknown augment type {kind!r}")
    if not cropped:
        _crop_margin(sample, margin)
    return sample


def _crop_margin(sample: dict[str, np.ndarray], margin: Sequence[int]) -> None:
    if not any(margin):
        return
    for key, array in sample.items():
        sample[key] = array[tuple(slice(m, s - m) for m, s in zip(margin, array.shape, strict=True))]
