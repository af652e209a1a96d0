"""Affinity targets and weights (spec §4, task ``affinities``).

For every neighbourhood offset o (voxels, one int per spatial axis) channel o holds aff(v) = 1 iff
L(v) = L(v + o) and both are objects (≠ 0; with ``background_as_object`` background is an object too);
aff(v) = 0 where v + o lies outside the array. The value at v relates v and v + o, the convention
of the reference and of ``mwatershed.agglom``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from snakelab.segment.targets.balance import class_balanced_weights

DEFAULT_NEIGHBORHOOD = ((1, 0, 0), (0, 1, 0), (0, 0, 1))


def offset_slices(shape: Sequence[int], offset: Sequence[int]) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    """Slices (source, shifted) with ``array[source]`` = the voxels v whose v + offset lies inside ``shape``
    and ``array[shifted]`` = those v + offset, aligned voxel for voxel (both empty if |offset| ≥ shape)."""
    if len(offset) != len(shape):
        raise ValueError(f"offset {tuple(offset)} has {len(offset)} entries for {len(shape)} spatial axes")
    source, shifted = [], []
    for n, o in zip(shape, offset, strict=True):
        o = int(o)
        if abs(o) >= n:
            source.append(slice(0, 0))
            shifted.append(slice(0, 0))
        elif o >= 0:
            source.append(slice(0, n - o))
            shifted.append(slice(o, n))
        else:
            source.append(slice(-o, n))
            shifted.append(slice(0, n + o))
    return tuple(source), tuple(shifted)


def affinities(
    labels: np.ndarray,
    neighborhood: Sequence[Sequence[int]] = DEFAULT_NEIGHBORHOOD,
    background_as_object: bool = False,
) -> np.ndarray:
    """Affinities (len(neighborhood), *labels.shape) float32 of instance ``labels`` (0 = background)."""
    labels = np.asarray(labels)
    target = np.zeros((len(neighborhood), *labels.shape), dtype=np.float32)
    for channel, offset in enumerate(neighborhood):
        source, shifted = offset_slices(labels.shape, offset)
        a, b = labels[source], labels[shifted]
        same = a == b
        if not background_as_object:
            same &= a != 0
        target[(channel, *source)] = same
    return target


def endpoint_mask(
    mask: np.ndarray, neighborhood: Sequence[Sequence[int]] = DEFAULT_NEIGHBORHOOD
) -> np.ndarray:
    """(len(neighborhood), *mask.shape) float32: 1 where v and v + o both lie inside and are masked in."""
    inside = np.asarray(mask) > 0
    result = np.zeros((len(neighborhood), *inside.shape), dtype=np.float32)
    for channel, offset in enumerate(neighborhood):
        source, shifted = offset_slices(inside.shape, offset)
        result[(channel, *source)] = inside[source] & inside[shifted]
    return result


def affinity_targets(
    labels: np.ndarray,
    neighborhood: Sequence[Sequence[int]] = DEFAULT_NEIGHBORHOOD,
    mask: np.ndarray | None = None,
    background_as_object: bool = False,
    weight_clip: Sequence[float] = (0.05, 0.95),
) -> tuple[np.ndarray, np.ndarray]:
    """Target and weight, both (len(neighborhood), z, y, x) float32, of instance ``labels`` (z, y, x).

    ``labels``: integer instance ids (uint64; 0 = background). ``mask``: 0/1 (z, y, x), 1 = annotated
    (default: all annotated). Per channel the weight is the class-balanced weight of
    :func:`~snakelab.segment.targets.balance.class_balanced_weights` (positives vs negatives over the
    voxels whose two endpoints are inside and masked in, fraction clipped to ``weight_clip``) times that
    endpoint mask. Works for any number of spatial axes (one offset entry per axis).
    """
    labels = np.asarray(labels)
    mask = np.ones(labels.shape, dtype=bool) if mask is None else np.asarray(mask)
    if mask.shape != labels.shape:
        raise ValueError(f"mask {mask.shape} and labels {labels.shape} differ in shape")
    target = affinities(labels, neighborhood, background_as_object)
    endpoints = endpoint_mask(mask, neighborhood)
    weight = np.empty_like(target)
    for channel in range(len(target)):
        weight[channel] = class_balanced_weights(
            target[channel].astype(np.intp), 2, endpoints[channel], weight_clip
        )
    return target, weight
