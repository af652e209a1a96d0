"""Row accessors shared by ``Screen`` and its views :class:`ScreenSubset` and :class:`Plate`.

A view holds row indices into its parent screen and reads the parent's arrays at access time, so a
view of a screen that is later revealed (``Screen.set_observed``) sees the new observations. Plate ids
of a view are the parent's. Only numpy is imported.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from snakelab.batchie.data import Screen

__all__ = ["Plate", "ScreenRows", "ScreenSubset", "row_indices"]


class ScreenRows(ABC):
    """Row arrays and counts shared by ``Screen`` and its views; subclasses supply ``_get(field)``."""

    @abstractmethod
    def _get(self, field: str) -> np.ndarray:
        """The (n, ...) array of one row field (a name of the properties below)."""

    @property
    def treatment_names(self) -> np.ndarray:
        """(n, a) str: treatment name per slot."""
        return self._get("treatment_names")

    @property
    def treatment_doses(self) -> np.ndarray:
        """(n, a) float64: dose per slot (≤ 0 marks a control)."""
        return self._get("treatment_doses")

    @property
    def treatment_ids(self) -> np.ndarray:
        """(n, a) int64: treatment id per slot, −1 for controls."""
        return self._get("treatment_ids")

    @property
    def sample_names(self) -> np.ndarray:
        """(n,) str: sample name per row."""
        return self._get("sample_names")

    @property
    def sample_ids(self) -> np.ndarray:
        """(n,) int64: sample id per row."""
        return self._get("sample_ids")

    @property
    def plate_names(self) -> np.ndarray:
        """(n,) str: plate name per row."""
        return self._get("plate_names")

    @property
    def plate_ids(self) -> np.ndarray:
        """(n,) int64: plate id per row (rank of the plate name within the screen)."""
        return self._get("plate_ids")

    @property
    def observations(self) -> np.ndarray:
        """(n,) float64: viability; values of unobserved rows are undefined (0 in prospective screens)."""
        return self._get("observations")

    @property
    def observation_mask(self) -> np.ndarray:
        """(n,) bool: observed flag per row."""
        return self._get("observation_mask")

    @property
    def size(self) -> int:
        """n: number of rows."""
        return int(self._get("observation_mask").size)

    def __len__(self) -> int:
        return self.size

    @property
    def arity(self) -> int:
        """a: treatment slots per row."""
        return int(self._get("treatment_ids").shape[1])

    treatment_arity = arity

    @property
    def unique_plate_ids(self) -> np.ndarray:
        """(p,) int64: distinct plate ids of the rows, ascending."""
        return np.unique(self.plate_ids)

    @property
    def n_plates(self) -> int:
        """p: number of distinct plates among the rows."""
        return int(self.unique_plate_ids.size)

    @property
    def unique_sample_ids(self) -> np.ndarray:
        """Distinct sample ids of the rows, ascending, int64."""
        return np.unique(self.sample_ids)

    @property
    def n_unique_samples(self) -> int:
        """Number of distinct sample ids among the rows."""
        return int(self.unique_sample_ids.size)

    @property
    def unique_treatments(self) -> np.ndarray:
        """Distinct non-control treatment ids present in the rows, ascending, int64."""
        ids = self.treatment_ids
        return np.unique(ids[ids >= 0])

    @property
    def n_unique_treatments(self) -> int:
        """Number of distinct non-control treatment ids present in the rows (−1 excluded)."""
        return int(self.unique_treatments.size)

    @property
    def is_observed(self) -> bool:
        """True when every row is observed (also for an empty selection)."""
        return bool(np.all(self.observation_mask))

    @property
    def observed_plate_ids(self) -> np.ndarray:
        """Ids of plates whose rows are observed, ascending, int64."""
        return np.unique(self.plate_ids[self.observation_mask])

    @property
    def unobserved_plate_ids(self) -> np.ndarray:
        """Ids of plates whose rows are unobserved, ascending, int64."""
        return np.unique(self.plate_ids[~self.observation_mask])

    @property
    def n_observed_plates(self) -> int:
        """Number of observed plates."""
        return int(self.observed_plate_ids.size)

    @property
    def n_unobserved_plates(self) -> int:
        """Number of unobserved plates."""
        return int(self.unobserved_plate_ids.size)


class ScreenSubset(ScreenRows):
    """A view of some rows of a screen, chosen by a (n,) bool mask (or integer indices).

    Arrays are read from the parent screen at access time, in screen-row order; plate ids are the
    parent's. ``a + b`` is the union and ``~a`` the complement (same parent required).
    """

    def __init__(self, screen: Screen, selection_vector: ArrayLike) -> None:
        self._screen = screen
        self._rows = np.unique(row_indices(selection_vector, screen.size))

    def _get(self, field: str) -> np.ndarray:
        return getattr(self._screen, field)[self._rows]

    @property
    def screen(self) -> Screen:
        """The parent screen."""
        return self._screen

    @property
    def row_indices(self) -> np.ndarray:
        """(k,) int64: the chosen rows of the parent, ascending."""
        return self._rows

    @property
    def selection_vector(self) -> np.ndarray:
        """(n,) bool over the parent's rows."""
        mask = np.zeros(self._screen.size, dtype=bool)
        mask[self._rows] = True
        return mask

    def to_screen(self) -> Screen:
        """A new :class:`Screen` of these rows (mappings kept, plate ids re-ranked)."""
        return self._screen.subset(self._rows)

    def combine(self, other: ScreenSubset) -> ScreenSubset:
        """Union of two views of the same screen, in screen-row order."""
        if other._screen is not self._screen:
            raise ValueError("can only combine views of the same screen")
        return ScreenSubset(self._screen, np.concatenate([self._rows, other._rows]))

    def __add__(self, other: ScreenSubset) -> ScreenSubset:
        return self.combine(other)

    def __invert__(self) -> ScreenSubset:
        return ScreenSubset(self._screen, ~self.selection_vector)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, n_plates={self.n_plates}, parent={self._screen!r})"


class Plate(ScreenSubset):
    """The rows of one plate of a screen (a :class:`ScreenSubset` with an id and a name)."""

    def __init__(self, screen: Screen, plate_id: int, rows: np.ndarray) -> None:
        super().__init__(screen, rows)
        self._plate_id = int(plate_id)

    @property
    def plate_id(self) -> int:
        """The plate's id in its screen."""
        return self._plate_id

    @property
    def plate_name(self) -> str:
        """The plate's name."""
        return str(self._screen.plate_names[self._rows[0]])


def row_indices(selection: ArrayLike, n: int) -> np.ndarray:
    """(k,) int64 row indices from a (n,) bool mask or an integer index array; IndexError if out of range."""
    sel = np.asarray(selection)
    if sel.dtype == np.bool_:
        if sel.shape != (n,):
            raise IndexError(f"expected a bool mask of shape ({n},), found {sel.shape}")
        return np.flatnonzero(sel)
    if sel.size == 0:
        return np.zeros(0, dtype=np.int64)
    if sel.dtype.kind not in "iu" or sel.ndim != 1:
        raise IndexError(
            f"expected a bool mask or 1-D integer indices, found {sel.dtype} of shape {sel.shape}"
        )
    if sel.min() < 0 or sel.max() >= n:
        raise IndexError(f"row indices must lie in 0..{n - 1}")
    return sel.astype(np.int64)
