"""Plate scores of one scoring chunk, ``score_chunk_<k>.h5`` (spec §2.3, §2.6); lower is better.

On disk (uncompressed, no timestamps): datasets ``scores`` f8 (s,) and ``plate_ids`` i8 (s,), attribute
``current_index`` (i8) = s. An empty chunk has zero-length datasets. Only numpy and h5py are imported.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import h5py
import numpy as np
from numpy.typing import ArrayLike

from snakelab.core.atomic import atomic_path
from snakelab.core.errors import InputError

__all__ = ["ChunkedScoresHolder"]


class ChunkedScoresHolder:
    """Scores of plates, appended one by one or joined from chunk files.

    Parameters
    ----------
    size:
        Capacity of the preallocated buffers (number of plates the chunk will score); they grow when
        :meth:`add_score` needs more.

    Attributes
    ----------
    scores:
        (s,) float64 scores in insertion order.
    plate_ids:
        (s,) int64 plate id of each score.
    current_index:
        s, the number of scores held.
    """

    def __init__(self, size: int) -> None:
        size = int(size)
        if size < 0:
            raise ValueError(f"size must be >= 0, found {size}")
        self._scores = np.zeros(size, dtype=np.float64)
        self._plate_ids = np.zeros(size, dtype=np.int64)
        self.current_index = 0

    @property
    def size(self) -> int:
        """Capacity of the buffers (≥ :attr:`current_index`)."""
        return int(self._scores.size)

    @property
    def scores(self) -> np.ndarray:
        """(s,) float64: the scores held, in insertion order."""
        return self._scores[: self.current_index]

    @property
    def plate_ids(self) -> np.ndarray:
        """(s,) int64: the plate id of each score."""
        return self._plate_ids[: self.current_index]

    @classmethod
    def from_arrays(cls, plate_ids: ArrayLike, scores: ArrayLike) -> ChunkedScoresHolder:
        """A holder of the given (s,) integer plate ids and (s,) float scores (copied), in that order."""
        ids = np.asarray(plate_ids)
        values = np.asarray(scores)
        if ids.ndim != 1 or ids.shape != values.shape:
            raise ValueError(
                f"plate_ids and scores must be 1-D of equal length, found {ids.shape}, {values.shape}"
            )
        if ids.size and ids.dtype.kind not in "iu":
            raise ValueError(f"plate_ids must be integers, found {ids.dtype}")
        holder = cls(0)
        holder._set(ids.astype(np.int64), values.astype(np.float64))
        return holder

    def _set(self, plate_ids: np.ndarray, scores: np.ndarray) -> None:
        self._plate_ids = np.array(plate_ids, dtype=np.int64, copy=True)
        self._scores = np.array(scores, dtype=np.float64, copy=True)
        self.current_index = int(plate_ids.size)

    def add_score(self, plate_id: int, score: float) -> None:
        """Append the score of one plate."""
        if self.current_index == self._scores.size:
            capacity = max(1, 2 * self._scores.size)
            self._scores = np.resize(self._scores, capacity)
            self._plate_ids = np.resize(self._plate_ids, capacity)
        self._plate_ids[self.current_index] = int(plate_id)
        self._scores[self.current_index] = float(score)
        self.current_index += 1

    def get_score(self, plate_id: int) -> float:
        """The score of ``plate_id``; ValueError if it has none or more than one."""
        hits = np.flatnonzero(self.plate_ids == int(plate_id))
        if hits.size != 1:
            found = "no score" if hits.size == 0 else f"{hits.size} scores"
            raise ValueError(f"expected one score for plate {int(plate_id)}, found {found}")
        return float(self.scores[hits[0]])

    def plate_id_with_minimum_score(self, eligible_ids: ArrayLike | None = None) -> int:
        """The plate id of the lowest score, the smallest id on ties; only ``eligible_ids`` if given.

        Raises ValueError when no (eligible) score is held.
        """
        ids, scores = self.plate_ids, self.scores
        if eligible_ids is not None:
            keep = np.isin(ids, np.asarray(eligible_ids, dtype=np.int64))
            ids, scores = ids[keep], scores[keep]
        if ids.size == 0:
            raise ValueError("no scores held for the eligible plates")
        best = np.lexsort((ids, scores))[0]
        return int(ids[best])

    @classmethod
    def concat(cls, holders: Sequence[ChunkedScoresHolder]) -> ChunkedScoresHolder:
        """A new holder with the scores of all ``holders`` in list order (the inputs are unchanged)."""
        holders = list(holders)
        if not holders:
            raise ValueError("concat needs at least one ChunkedScoresHolder")
        joined = cls(0)
        joined._set(
            np.concatenate([h.plate_ids for h in holders]), np.concatenate([h.scores for h in holders])
        )
        return joined

    def combine(self, other: ChunkedScoresHolder) -> ChunkedScoresHolder:
        """A new holder with the scores of ``self`` and then ``other``."""
        return type(self).concat([self, other])

    def save_h5(self, fn: str | os.PathLike[str]) -> None:
        """Write atomically (module docstring layout); the same content gives the same bytes."""
        with atomic_path(fn) as tmp, h5py.File(tmp, "w") as f:
            f.create_dataset("scores", data=self.scores, track_times=False)
            f.create_dataset("plate_ids", data=self.plate_ids, track_times=False)
            f.attrs["current_index"] = np.int64(self.current_index)

    @classmethod
    def load_h5(cls, fn: str | os.PathLike[str]) -> ChunkedScoresHolder:
        """Read a file written by :meth:`save_h5` (or BATCHIE); InputError naming file and field if malformed.

        Entries beyond the ``current_index`` attribute (a preallocated, partly filled buffer) are dropped.
        """
        try:
            with h5py.File(fn, "r") as f:
                scores = _read_1d(fn, f, "scores", "f")
                plate_ids = _read_1d(fn, f, "plate_ids", "iu")
                count = f.attrs.get("current_index", scores.size)
        except FileNotFoundError:
            raise InputError(fn, "file", "expected an existing HDF5 file, found none") from None
        except OSError as exc:
            raise InputError(fn, "file", f"expected a readable HDF5 file ({exc})") from None
        if plate_ids.shape != scores.shape:
            raise InputError(
                fn, "plate_ids", f"expected shape {scores.shape} like scores, found {plate_ids.shape}"
            )
        count_arr = np.asarray(count)
        n = int(count_arr.reshape(())) if count_arr.dtype.kind in "iu" and count_arr.size == 1 else -1
        if not 0 <= n <= scores.size:
            raise InputError(fn, "current_index", f"expected an integer in 0..{scores.size}, found {count!r}")
        holder = cls(0)
        holder._set(plate_ids[:n], scores[:n])
        return holder

    def __repr__(self) -> str:
        return f"ChunkedScoresHolder(current_index={self.current_index})"


def _read_1d(fn: str | os.PathLike[str], f: h5py.File, name: str, kinds: str) -> np.ndarray:
    """A 1-D dataset of dtype kind in ``kinds`` ("iu" or "f") as int64 / float64; InputError otherwise."""
    obj = f.get(name)
    if not isinstance(obj, h5py.Dataset):
        raise InputError(fn, name, "expected this dataset, found it missing")
    if obj.dtype.kind not in kinds or obj.ndim != 1:
        expected = "integers" if kinds == "iu" else "floats"
        raise InputError(fn, name, f"expected 1-D {expected}, found {obj.dtype} of shape {obj.shape}")
    return obj[()].astype(np.int64 if kinds == "iu" else np.float64, copy=False)
