"""The chunked pairwise distance matrix between thetas, ``distance_matrix_chunk_<k>.h5`` (spec §2.3, §2.6).

A :class:`ChunkedDistanceMatrix` holds some strictly-lower-triangular entries (i > j) of a symmetric
``size`` × ``size`` matrix with a zero diagonal. Chunk k of ``n_chunks`` owns a contiguous range of the
row-major pair order (see :mod:`snakelab.batchie.pairs`); :meth:`ChunkedDistanceMatrix.concat` joins the
chunks in O(total pairs), keeping the first occurrence of a pair.

On disk (all datasets gzip level 4, no timestamps):

================ ===== ====== ====================================
dataset          dtype shape  meaning
================ ===== ====== ====================================
``row_indices``  i8    (p,)   i of each entry
``col_indices``  i8    (p,)   j of each entry (i > j)
``values``       f8    (p,)   distance d(i, j)
``size``         i8    (1,)   K, the number of thetas
================ ===== ====== ====================================

Only numpy and h5py are imported.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import h5py
import numpy as np
from numpy.typing import ArrayLike

from snakelab.batchie.pairs import chunk_pair_range, n_pairs, pair_index, unrank_pairs
from snakelab.core.atomic import atomic_path
from snakelab.core.errors import InputError

__all__ = ["ChunkedDistanceMatrix"]

_GZIP: dict[str, Any] = {"compression": "gzip", "compression_opts": 4, "track_times": False}


class ChunkedDistanceMatrix:
    """Some lower-triangular entries of a symmetric ``size`` × ``size`` distance matrix.

    Parameters
    ----------
    size:
        K, the matrix dimension (number of thetas).
    n_chunks, chunk_index:
        Which chunk of the pair order this object is meant to hold; :attr:`pair_range` gives its
        half-open range of linear pair indices (spec §2.3).
    chunk_size:
        Capacity of the preallocated buffers; ``None`` for the number of pairs in the chunk. The
        buffers grow when :meth:`add_value` needs more.

    Attributes
    ----------
    size:
        K (int).
    row_indices, col_indices:
        (p,) int64 of the entries added so far (i > j).
    values:
        (p,) float64 distances.
    current_index:
        p, the number of entries added so far.
    """

    def __init__(
        self, size: int, n_chunks: int = 1, chunk_index: int = 0, chunk_size: int | None = None
    ) -> None:
        self.size = int(size)
        if self.size < 0:
            raise ValueError(f"size must be >= 0, found {size}")
        self.n_chunks = int(n_chunks)
        self.chunk_index = int(chunk_index)
        self.pair_range = chunk_pair_range(self.size, self.n_chunks, self.chunk_index)
        capacity = self.pair_range[1] - self.pair_range[0] if chunk_size is None else int(chunk_size)
        if capacity < 0:
            raise ValueError(f"chunk_size must be >= 0, found {chunk_size}")
        self._rows = np.zeros(capacity, dtype=np.int64)
        self._cols = np.zeros(capacity, dtype=np.int64)
        self._values = np.zeros(capacity, dtype=np.float64)
        self.current_index = 0

    @property
    def row_indices(self) -> np.ndarray:
        """(p,) int64: row index i of each entry."""
        return self._rows[: self.current_index]

    @property
    def col_indices(self) -> np.ndarray:
        """(p,) int64: column index j of each entry (j < i)."""
        return self._cols[: self.current_index]

    @property
    def values(self) -> np.ndarray:
        """(p,) float64: the distance of each entry."""
        return self._values[: self.current_index]

    @classmethod
    def from_arrays(
        cls, size: int, row_indices: ArrayLike, col_indices: ArrayLike, values: ArrayLike
    ) -> ChunkedDistanceMatrix:
        """A matrix holding the given entries in the given order (arrays are copied).

        ``row_indices``/``col_indices``: (p,) integers with size > i > j ≥ 0; ``values``: (p,) floats.
        Raises ValueError on shape or range errors.
        """
        rows = np.asarray(row_indices)
        cols = np.asarray(col_indices)
        vals = np.asarray(values)
        if rows.ndim != 1 or rows.shape != cols.shape or rows.shape != vals.shape:
            raise ValueError(
                "row_indices, col_indices and values must be 1-D of equal length, found shapes "
                f"{rows.shape}, {cols.shape}, {vals.shape}"
            )
        if rows.size and (rows.dtype.kind not in "iu" or cols.dtype.kind not in "iu"):
            raise ValueError(f"indices must be integers, found {rows.dtype}, {cols.dtype}")
        matrix = cls(size, chunk_size=0)
        matrix._set(rows.astype(np.int64), cols.astype(np.int64), vals.astype(np.float64))
        bad = _first_invalid(matrix.size, matrix._rows, matrix._cols)
        if bad is not None:
            raise ValueError(f"entry {bad}: expected size > i > j >= 0 with size {matrix.size}")
        return matrix

    def _set(self, rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> None:
        self._rows = np.array(rows, dtype=np.int64, copy=True)
        self._cols = np.array(cols, dtype=np.int64, copy=True)
        self._values = np.array(values, dtype=np.float64, copy=True)
        self.current_index = int(rows.size)

    def add_value(self, i: int, j: int, value: float) -> None:
        """Append the entry d(i, j) = ``value``; ValueError unless size > i > j ≥ 0."""
        i, j = int(i), int(j)
        if not self.size > i > j >= 0:
            raise ValueError(f"expected size > i > j >= 0 with size {self.size}, found i={i}, j={j}")
        if self.current_index == self._rows.size:
            capacity = max(1, 2 * self._rows.size)
            self._rows = np.resize(self._rows, capacity)
            self._cols = np.resize(self._cols, capacity)
            self._values = np.resize(self._values, capacity)
        self._rows[self.current_index] = i
        self._cols[self.current_index] = j
        self._values[self.current_index] = float(value)
        self.current_index += 1

    def _first_occurrences(self) -> tuple[np.ndarray, np.ndarray]:
        """(sorted distinct linear pair indices q, position of the first entry holding each q)."""
        q = pair_index(self.row_indices, self.col_indices)
        return np.unique(q, return_index=True)

    def is_complete(self) -> bool:
        """True when every pair i > j of the full matrix has an entry (what :meth:`to_dense` needs)."""
        return bool(self._first_occurrences()[0].size == n_pairs(self.size))

    def to_dense(self) -> np.ndarray:
        """(size, size) float64: symmetric, zero diagonal; the first entry of a duplicated pair wins.

        Raises ValueError naming the first missing pair (i, j) when the matrix is incomplete.
        """
        q, first = self._first_occurrences()
        total = n_pairs(self.size)
        if q.size != total:
            present = np.zeros(total, dtype=bool)
            present[q] = True
            i, j = unrank_pairs(np.flatnonzero(~present)[:1])
            raise ValueError(
                f"distance matrix of size {self.size} is incomplete: {total - q.size} of {total} pairs "
                f"missing, the first ({int(i[0])}, {int(j[0])})"
            )
        dense = np.zeros((self.size, self.size), dtype=np.float64)
        rows, cols = self.row_indices[first], self.col_indices[first]
        dense[rows, cols] = self.values[first]
        dense[cols, rows] = self.values[first]
        return dense

    @classmethod
    def concat(cls, matrices: Sequence[ChunkedDistanceMatrix]) -> ChunkedDistanceMatrix:
        """One matrix of the entries of all ``matrices`` (same size), sorted by pair, first occurrence kept.

        Vectorised: one concatenation and one ``np.unique`` over all entries, O(p log p).
        """
        matrices = list(matrices)
        if not matrices:
            raise ValueError("concat needs at least one ChunkedDistanceMatrix")
        sizes = {m.size for m in matrices}
        if len(sizes) != 1:
            raise ValueError(f"cannot concatenate distance matrices of different sizes {sorted(sizes)}")
        joined = cls(matrices[0].size, chunk_size=0)
        joined._set(
            np.concatenate([m.row_indices for m in matrices]),
            np.concatenate([m.col_indices for m in matrices]),
            np.concatenate([m.values for m in matrices]),
        )
        _, first = joined._first_occurrences()
        joined._set(joined._rows[first], joined._cols[first], joined._values[first])
        return joined

    def combine(self, other: ChunkedDistanceMatrix) -> ChunkedDistanceMatrix:
        """A new matrix with the entries of ``self`` and then ``other`` (``concat([self, other])``)."""
        return type(self).concat([self, other])

    def save(self, fn: str | os.PathLike[str]) -> None:
        """Write the entries atomically (module docstring layout); same content ⇒ same bytes."""
        datasets = {
            "row_indices": self.row_indices,
            "col_indices": self.col_indices,
            "values": self.values,
            "size": np.array([self.size], dtype=np.int64),
        }
        with atomic_path(fn) as tmp, h5py.File(tmp, "w") as f:
            for name, data in datasets.items():
                f.create_dataset(name, data=data, **_GZIP)

    @classmethod
    def load(cls, fn: str | os.PathLike[str]) -> ChunkedDistanceMatrix:
        """Read a file written by :meth:`save` (or BATCHIE); InputError naming file and dataset if bad."""
        try:
            with h5py.File(fn, "r") as f:
                rows = _read_1d(fn, f, "row_indices", "iu")
                cols = _read_1d(fn, f, "col_indices", "iu")
                values = _read_1d(fn, f, "values", "f")
                size = _read_size(fn, f)
        except FileNotFoundError:
            raise InputError(fn, "file", "expected an existing HDF5 file, found none") from None
        except OSError as exc:
            raise InputError(fn, "file", f"expected a readable HDF5 file ({exc})") from None
        for name, arr in (("col_indices", cols), ("values", values)):
            if arr.shape != rows.shape:
                raise InputError(fn, name, f"expected shape {rows.shape} like row_indices, found {arr.shape}")
        bad = _first_invalid(size, rows, cols)
        if bad is not None:
            raise InputError(fn, "row_indices", f"expected size > i > j >= 0 with size {size}, found {bad}")
        matrix = cls(size, chunk_size=0)
        matrix._set(rows, cols, values)
        return matrix

    def __repr__(self) -> str:
        return (
            f"ChunkedDistanceMatrix(size={self.size}, entries={self.current_index}, "
            f"pairs={n_pairs(self.size)})"
        )


def _first_invalid(size: int, rows: np.ndarray, cols: np.ndarray) -> tuple[int, int] | None:
    """The first (i, j) violating size > i > j ≥ 0, or None."""
    bad = np.flatnonzero((rows >= size) | (rows <= cols) | (cols < 0))
    if bad.size == 0:
        return None
    return int(rows[bad[0]]), int(cols[bad[0]])


def _dataset(fn: str | os.PathLike[str], f: h5py.File, name: str) -> h5py.Dataset:
    obj = f.get(name)
    if not isinstance(obj, h5py.Dataset):
        raise InputError(fn, name, "expected this dataset, found it missing")
    return obj


def _read_1d(fn: str | os.PathLike[str], f: h5py.File, name: str, kinds: str) -> np.ndarray:
    """A 1-D dataset whose dtype kind is in ``kinds`` ("iu" integers, "f" floats), as int64 / float64."""
    obj = _dataset(fn, f, name)
    if obj.dtype.kind not in kinds or obj.ndim != 1:
        expected = "integers" if kinds == "iu" else "floats"
        raise InputError(fn, name, f"expected 1-D {expected}, found {obj.dtype} of shape {obj.shape}")
    return obj[()].astype(np.int64 if kinds == "iu" else np.float64, copy=False)


def _read_size(fn: str | os.PathLike[str], f: h5py.File) -> int:
    """The ``size`` dataset: one non-negative integer, stored with shape (1,) (or as a scalar)."""
    obj = _dataset(fn, f, "size")
    if obj.dtype.kind not in "iu" or obj.shape not in ((1,), ()):
        raise InputError(fn, "size", f"expected one integer of shape (1,), found {obj.dtype} {obj.shape}")
    size = int(np.asarray(obj[()]).reshape(()))
    if size < 0:
        raise InputError(fn, "size", f"expected a non-negative integer, found {size}")
    return size
