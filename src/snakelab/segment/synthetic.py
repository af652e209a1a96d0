"""Synthetic demo volumes: separated spheres in blurred, noisy raw (spec §2).

Deterministic from ``seed``: radii ~ U(radius) voxels, centres ~ U(volume), accepted by rejection
when every surface is at least ``gap`` voxels from the others (up to ``n_objects`` accepted, 5000
tries); instance ids 1..K in placement order. raw = background + (1 − background)·Iₖ inside object
k (Iₖ ~ U(intensity)), Gaussian blur σ = ``blur`` voxels, additive N(0, noise²), clipped to [0, 1],
stored as uint8 round(255·raw). ``classes``: 0 background, 1 interior, 2 boundary (an object voxel
with a 6-neighbour of another label, background included).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_TRIES = 5000


@dataclass(frozen=True)
class Spheres:
    """Settings of :func:`make_spheres` (voxel units unless said otherwise)."""

    shape: tuple[int, int, int] = (48, 80, 80)
    n_objects: int = 40
    radius: tuple[float, float] = (5.0, 9.0)
    gap: float = 2.0
    intensity: tuple[float, float] = (0.6, 0.9)
    background: float = 0.2
    blur: float = 1.0
    noise: float = 0.1
    seed: int = 0


def place_spheres(settings: Spheres) -> tuple[np.ndarray, np.ndarray]:
    """(centres (K, 3), radii (K,)) in voxels, placed by rejection (see module docstring)."""
    rng = np.random.default_rng(np.random.SeedSequence(settings.seed))
    shape = np.asarray(settings.shape, dtype=float)
    centres: list[np.ndarray] = []
    radii: list[float] = []
    for _ in range(MAX_TRIES):
        if len(centres) >= settings.n_objects:
            break
        r = rng.uniform(*settings.radius)
        c = rng.uniform(0.0, 1.0, size=3) * shape
        if centres:
            d = np.linalg.norm(np.asarray(centres) - c, axis=1)
            if np.any(d - np.asarray(radii) - r < settings.gap):
                continue
        centres.append(c)
        radii.append(r)
    return np.asarray(centres, dtype=float).reshape(-1, 3), np.asarray(radii, dtype=float)


def rasterise(shape: Sequence[int], centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """uint64 labels: voxel v (centre at integer coordinates) belongs to object k+1 if |v − cₖ| ≤ rₖ."""
    labels = np.zeros(tuple(shape), dtype=np.uint64)
    for k, (c, r) in enumerate(zip(centres, radii, strict=True)):
        lo = np.maximum(np.floor(c - r).astype(int), 0)
        hi = np.minimum(np.ceil(c + r).astype(int) + 1, shape)
        if np.any(hi <= lo):
            continue
        grids = np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi, strict=True)], indexing="ij")
        inside = sum((g - ci) ** 2 for g, ci in zip(grids, c, strict=True)) <= r * r
        box = labels[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        box[inside & (box == 0)] = k + 1
    return labels


def boundary_classes(labels: np.ndarray) -> np.ndarray:
    """uint8 classes: 0 background, 1 interior, 2 object voxel with a 6-neighbour of another label."""
    boundary = np.zeros(labels.shape, dtype=bool)
    for axis in range(labels.ndim):
        lo = [slice(None)] * labels.ndim
        hi = [slice(None)] * labels.ndim
        lo[axis], hi[axis] = slice(None, -1), slice(1, None)
        differ = labels[tuple(lo)] != labels[tuple(hi)]
        boundary[tuple(lo)] |= differ
        boundary[tuple(hi)] |= differ
    classes = np.where(labels > 0, np.uint8(1), np.uint8(0))
    classes[boundary & (labels > 0)] = 2
    return classes


def make_spheres(settings: Spheres) -> dict[str, np.ndarray]:
    """``{"raw": uint8 (z, y, x), "labels": uint64, "classes": uint8}`` for ``settings``."""
    from scipy.ndimage import gaussian_filter

    centres, radii = place_spheres(settings)
    labels = rasterise(settings.shape, centres, radii)
    rng = np.random.default_rng(np.random.SeedSequence([settings.seed, 1]))
    intensity = rng.uniform(*settings.intensity, size=len(radii) + 1)
    intensity[0] = 0.0
    raw = settings.background + (1.0 - settings.background) * intensity[labels.astype(np.int64)]
    if settings.blur > 0:
        raw = gaussian_filter(raw, sigma=settings.blur, mode="nearest")
    raw = raw + rng.normal(0.0, settings.noise, size=raw.shape)
    raw = np.round(255.0 * np.clip(raw, 0.0, 1.0)).astype(np.uint8)
    return {"raw": raw, "labels": labels, "classes": boundary_classes(labels)}
