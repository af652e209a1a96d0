"""Regions of interest in world units: ``Roi(offset, shape)`` = the half-open box [offset, offset + shape).

Every argument and field is in world units (nm, say), never in voxels; voxel counts come from
dividing by a voxel size (:func:`voxels`). Pure integer arithmetic, no NumPy needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Coord = tuple[int, ...]


def _coord(values: Sequence[int], what: str) -> Coord:
    out = []
    for v in values:
        if float(v) != int(v):
            raise ValueError(f"{what} must be integers, got {list(values)}")
        out.append(int(v))
    return tuple(out)


@dataclass(frozen=True)
class Roi:
    """An axis-aligned box: ``offset`` (begin, inclusive) and ``shape`` (extent ≥ 0), world units."""

    offset: Coord
    shape: Coord

    def __post_init__(self) -> None:
        object.__setattr__(self, "offset", _coord(self.offset, "Roi offset"))
        object.__setattr__(self, "shape", _coord(self.shape, "Roi shape"))
        if len(self.offset) != len(self.shape):
            raise ValueError(f"Roi offset {self.offset} and shape {self.shape} differ in length")
        if any(s < 0 for s in self.shape):
            raise ValueError(f"Roi shape must be non-negative, got {self.shape}")

    @property
    def end(self) -> Coord:
        """offset + shape (exclusive end)."""
        return tuple(o + s for o, s in zip(self.offset, self.shape, strict=True))

    @property
    def dims(self) -> int:
        return len(self.offset)

    def empty(self) -> bool:
        return any(s == 0 for s in self.shape)

    def contains(self, other: Roi) -> bool:
        """Whether ``other`` lies inside this box (an empty box is contained everywhere)."""
        if other.empty():
            return True
        return all(a <= b for a, b in zip(self.offset, other.offset, strict=True)) and all(
            a >= b for a, b in zip(self.end, other.end, strict=True)
        )

    def shift(self, by: Sequence[int]) -> Roi:
        return Roi(tuple(o + b for o, b in zip(self.offset, by, strict=True)), self.shape)

    def to_json(self) -> dict[str, list[int]]:
        return {"offset": list(self.offset), "shape": list(self.shape)}


def grow(roi: Roi, before: Sequence[int], after: Sequence[int] | None = None) -> Roi:
    """``roi`` extended by ``before`` at its begin and ``after`` (default: ``before``) at its end."""
    after = before if after is None else after
    offset = tuple(o - b for o, b in zip(roi.offset, before, strict=True))
    shape = tuple(s + b + a for s, b, a in zip(roi.shape, before, after, strict=True))
    return Roi(offset, shape)


def snap(roi: Roi, voxel_size: Sequence[int], mode: Literal["grow", "shrink"] = "grow") -> Roi:
    """``roi`` with begin and end moved onto multiples of ``voxel_size``: outward (``grow``) or inward."""
    if mode not in ("grow", "shrink"):
        raise ValueError(f"mode must be 'grow' or 'shrink', got {mode!r}")
    begin, end = [], []
    for b, e, v in zip(roi.offset, roi.end, voxel_size, strict=True):
        if mode == "grow":
            begin.append((b // v) * v)
            end.append(-((-e) // v) * v)
        else:
            begin.append(-((-b) // v) * v)
            end.append(max((e // v) * v, begin[-1]))
    return Roi(tuple(begin), tuple(e - b for b, e in zip(begin, end, strict=True)))


def intersect(a: Roi, b: Roi) -> Roi:
    """The overlap of two boxes (shape 0 along axes where they do not overlap)."""
    begin = tuple(max(x, y) for x, y in zip(a.offset, b.offset, strict=True))
    end = tuple(min(x, y) for x, y in zip(a.end, b.end, strict=True))
    return Roi(begin, tuple(max(e - s, 0) for s, e in zip(begin, end, strict=True)))


def on_grid(values: Sequence[int], voxel_size: Sequence[int]) -> bool:
    """Whether every entry of ``values`` is a multiple of the matching voxel size."""
    return all(int(v) % int(s) == 0 for v, s in zip(values, voxel_size, strict=True))


def voxels(roi: Roi, voxel_size: Sequence[int]) -> tuple[Coord, Coord]:
    """(offset, shape) of ``roi`` in voxels; ``roi`` must lie on the voxel grid."""
    if not (on_grid(roi.offset, voxel_size) and on_grid(roi.shape, voxel_size)):
        raise ValueError(f"{roi} is not on the voxel grid {tuple(voxel_size)}")
    return (
        tuple(o // v for o, v in zip(roi.offset, voxel_size, strict=True)),
        tuple(s // v for s, v in zip(roi.shape, voxel_size, strict=True)),
    )
