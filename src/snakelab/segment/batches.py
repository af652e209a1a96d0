"""Training batches (spec §6): windows sampled from in-memory volumes, augmented, turned into targets.

Each training dataset is loaded once (:func:`load_training_data`; raw normalised to float32 in [0, 1],
labels, mask (default: ones over the labels ROI), classes) on the raw voxel grid; a dataset larger than
``max_in_memory_mb`` is read from zarr window by window instead (:class:`GridView`). A sample picks a
dataset ∝ its weight, places the output window uniformly inside the labels ROI (resampled while its
masked-in fraction is < ``min_masked``; error after 100 tries), cuts the input window (output grown
by the context; raw zero-filled outside its ROI, the rule prediction follows), augments all arrays
identically, and computes the task's target and weights on the augmented arrays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core.errors import InputError
from snakelab.segment import augment
from snakelab.segment.roi import Roi, intersect
from snakelab.segment.volumes import Volume, open_volume

MAX_TRIES = 100


def normalise_raw(data: np.ndarray) -> np.ndarray:
    """uint8 → /255 as float32; floats as they are (float32)."""
    if data.dtype == np.uint8:
        return data.astype(np.float32) / np.float32(255.0)
    return data.astype(np.float32)


def crop(array: np.ndarray, begin: Sequence[int], shape: Sequence[int], fill: float = 0) -> np.ndarray:
    """``array[begin : begin + shape]`` (voxels, may reach outside), outside filled with ``fill``."""
    out = np.full(tuple(shape), fill, dtype=array.dtype)
    src, dst = [], []
    for b, s, n in zip(begin, shape, array.shape, strict=True):
        lo, hi = max(b, 0), min(b + s, n)
        if hi <= lo:
            return out
        src.append(slice(lo, hi))
        dst.append(slice(lo - b, hi - b))
    out[tuple(dst)] = array[tuple(src)]
    return out


@dataclass
class TrainingData:
    """One dataset on the raw voxel grid: arrays (z, y, x) and the labels box in voxels."""

    name: str
    weight: float
    voxel_size: tuple[int, ...]
    raw: np.ndarray
    arrays: dict[str, np.ndarray]
    labels_begin: tuple[int, ...]
    labels_shape: tuple[int, ...]
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    lazy: bool = False


class GridView:
    """A volume seen on the raw voxel grid and read window by window (zarr reads; zero outside its ROI).

    Supports what :func:`crop` needs: ``shape``, ``dtype`` and indexing with a tuple of slices.
    """

    def __init__(self, volume: Volume, roi: Roi, dtype: Any) -> None:
        self.volume = volume
        self.roi = roi
        self.dtype = np.dtype(dtype)
        self.shape = tuple(s // v for s, v in zip(roi.shape, volume.voxel_size, strict=True))

    def __getitem__(self, index: tuple[slice, ...]) -> np.ndarray:
        vs = self.volume.voxel_size
        offset = tuple(o + s.start * v for o, s, v in zip(self.roi.offset, index, vs, strict=True))
        shape = tuple((s.stop - s.start) * v for s, v in zip(index, vs, strict=True))
        return self.volume.to_ndarray(Roi(offset, shape)).astype(self.dtype, copy=False)


def _on_raw_grid(volume: Volume, raw: Volume, path: Path, dtype: Any, lazy: bool) -> Any:
    if volume.voxel_size != raw.voxel_size:
        raise InputError(path, "voxel_size", f"expected the raw voxel size {list(raw.voxel_size)}")
    if lazy:
        return GridView(volume, raw.roi, dtype)
    return volume.to_ndarray(raw.roi).astype(dtype, copy=False)


def load_training_data(
    entry: Mapping[str, Any], need_classes: bool = False, max_in_memory_mb: float = float("inf")
) -> TrainingData:
    """Open ``{dataset, path, weight}``: into memory, or read window by window (:class:`GridView`) when
    raw and labels together exceed ``max_in_memory_mb`` (see module docstring)."""
    path = Path(entry["path"])
    raw = open_volume(path / "raw")
    labels = open_volume(path / "labels")
    if raw.channel_dims or labels.channel_dims:
        raise InputError(path, "axis_names", "expected raw and labels without channel axes")
    labels_roi = intersect(labels.roi, raw.roi)
    if labels_roi.empty():
        raise InputError(
            path / "labels", "offset", f"labels ROI {labels.roi} does not overlap raw ROI {raw.roi}"
        )
    lazy = (raw.data.nbytes + labels.data.nbytes) / 2**20 > max_in_memory_mb
    arrays = {"labels": _on_raw_grid(labels, raw, path / "labels", np.uint64, lazy)}
    if (path / "mask").is_dir():
        arrays["mask"] = _on_raw_grid(open_volume(path / "mask"), raw, path / "mask", np.uint8, lazy)
    else:
        ones = np.broadcast_to(np.uint8(1), labels.spatial_shape)
        arrays["mask"] = _on_raw_grid(
            Volume(ones, labels.voxel_size, labels.offset), raw, path / "labels", np.uint8, lazy
        )
    if need_classes:
        if not (path / "classes").is_dir():
            raise InputError(path, "classes", "expected a classes array for this task")
        arrays["classes"] = _on_raw_grid(open_volume(path / "classes"), raw, path / "classes", np.uint8, lazy)
    begin = tuple((b - o) // v for b, o, v in zip(labels_roi.offset, raw.offset, raw.voxel_size, strict=True))
    shape = tuple(s // v for s, v in zip(labels_roi.shape, raw.voxel_size, strict=True))
    return TrainingData(
        name=str(entry["dataset"]),
        weight=float(entry.get("weight", 1.0)),
        voxel_size=raw.voxel_size,
        raw=GridView(raw, raw.roi, raw.data.dtype) if lazy else normalise_raw(np.asarray(raw.data[...])),
        arrays=arrays,
        labels_begin=begin,
        labels_shape=shape,
        lazy=lazy,
    )


class BatchSampler:
    """Draws training batches for ``task`` from ``datasets`` (see module docstring).

    ``input_shape``/``output_shape``: the network's training shapes (voxels); ``trainer``: the trainer
    config (``batch_size``, ``min_masked``, ``augments``); ``rng``: the NumPy generator of the run.
    """

    def __init__(
        self,
        task: Any,
        datasets: Sequence[TrainingData],
        input_shape: Sequence[int],
        output_shape: Sequence[int],
        trainer: Mapping[str, Any],
        rng: np.random.Generator,
    ) -> None:
        self.task = task
        self.datasets = list(datasets)
        self.input_shape = tuple(int(s) for s in input_shape)
        self.output_shape = tuple(int(s) for s in output_shape)
        self.context = tuple((i - o) // 2 for i, o in zip(self.input_shape, self.output_shape, strict=True))
        self.trainer = trainer
        self.augments = list(trainer.get("augments") or [])
        self.rng = rng
        self.min_masked = float(trainer.get("min_masked", 0.15))
        weights = np.asarray([d.weight for d in self.datasets], dtype=float)
        self.p = weights / weights.sum()
        self.margin = augment.source_margin(self.augments, self.input_shape)
        elastic = any(a["type"] == "elastic" for a in self.augments)
        for data in self.datasets:
            if any(s < o for s, o in zip(data.labels_shape, self.output_shape, strict=True)):
                raise InputError(
                    data.name,
                    "labels",
                    f"labels shape {data.labels_shape} is smaller than the output window {self.output_shape}",
                )
            data.extra = task.precompute(data.arrays, data.voxel_size) if not (elastic or data.lazy) else {}

    def _window(self, data: TrainingData) -> tuple[int, ...]:
        mask = data.arrays["mask"]
        needed = math.ceil(self.min_masked * math.prod(self.output_shape))
        for _ in range(MAX_TRIES):
            begin = tuple(
                int(b + self.rng.integers(0, s - o + 1))
                for b, s, o in zip(data.labels_begin, data.labels_shape, self.output_shape, strict=True)
            )
            if self.min_masked <= 0 or np.count_nonzero(crop(mask, begin, self.output_shape)) >= needed:
                return begin
        raise InputError(
            data.name,
            "mask",
            f"no output window with a masked-in fraction >= {self.min_masked} in {MAX_TRIES} tries",
        )

    def sample(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One sample: raw (1, *input), target (C, *output), weight (C, *output), float32."""
        data = self.datasets[int(self.rng.choice(len(self.datasets), p=self.p))]
        out_begin = self._window(data)
        grow = tuple(c + m for c, m in zip(self.context, self.margin, strict=True))
        begin = tuple(b - g for b, g in zip(out_begin, grow, strict=True))
        shape = tuple(i + 2 * m for i, m in zip(self.input_shape, self.margin, strict=True))
        sample = {"raw": normalise_raw(crop(data.raw, begin, shape))}
        for key, array in {**data.arrays, **data.extra}.items():
            sample[key] = crop(array, begin, shape)
        augment.apply(sample, self.augments, self.rng, data.voxel_size, self.margin)
        centre = tuple(slice(c, c + o) for c, o in zip(self.context, self.output_shape, strict=True))
        target, weight = self.task.targets(sample, centre, data.voxel_size)
        return sample["raw"][None].astype(np.float32), target, weight

    def batch(self, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``size`` samples stacked: raw (B, 1, *input), target and weight (B, C, *output)."""
        samples = [self.sample() for _ in range(size)]
        return tuple(np.stack([s[i] for s in samples]) for i in range(3))  # type: ignore[return-value]
