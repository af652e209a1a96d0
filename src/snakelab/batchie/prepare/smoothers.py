"""Step 5 of prepare (spec §7): plate smoothers, which even out the sizes of the unobserved plates.

Each smoother has ``smooth(screen, rng) -> Screen``: it works on the unobserved rows and returns them
first (screen order kept, some rows possibly dropped), then the observed rows unchanged; mappings are
kept and plate ids re-derived from the names. Merging plates keeps the name of the plate merged into,
so the plates left at any point keep the relative order of their ids: internally a smoother works on
:class:`PlateRows` (integer plate labels = the ids of the unobserved screen) and a composite smoother
builds one screen at the end. Ties in plate size are broken by plate id (the smaller id counts as the
smaller plate).
"""

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from snakelab.batchie.data import Screen
from snakelab.batchie.prepare.params import check_int
from snakelab.batchie.prepare.rebuild import (
    plate_names_by_id,
    plate_rows,
    regenerate_unobserved,
    require_one_sample_plates,
)

__all__ = [
    "BatchieEnsemblePlateSmoother",
    "FixedSizeSmoother",
    "MergeMinPlateSmoother",
    "MergeTopBottomPlateSmoother",
    "NPlatePerCellLineSmoother",
    "OptimalSizeSmoother",
    "PlateRows",
    "optimal_plate_size",
]


class PlateRows(NamedTuple):
    """The unobserved rows during smoothing.

    ``rows``: (k,) int64 indices into the unobserved screen, ascending; ``plates``: (k,) int64 plate
    label per row (an id of the unobserved screen, whose name the plate carries); ``samples``: (k,)
    int64 sample id per row; ``names``: (p,) str name of every label.
    """

    rows: np.ndarray
    plates: np.ndarray
    samples: np.ndarray
    names: np.ndarray

    def keep(self, mask: np.ndarray) -> "PlateRows":
        """The rows where the (k,) bool ``mask`` is true."""
        return PlateRows(self.rows[mask], self.plates[mask], self.samples[mask], self.names)

    def relabel(self, target: np.ndarray) -> "PlateRows":
        """Every row moved to plate ``target[plate]`` ((p,) int64)."""
        return PlateRows(self.rows, target[self.plates], self.samples, self.names)


Step = Callable[[PlateRows, np.random.Generator], PlateRows]


def smooth_unobserved(screen: Screen, rng: np.random.Generator, steps: Sequence[Step]) -> Screen:
    """Apply ``steps`` in turn to the unobserved rows; one new screen (then the observed rows)."""

    def assign(unobserved: Screen, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        state = PlateRows(
            np.arange(unobserved.size),
            unobserved.plate_ids,
            unobserved.sample_ids,
            plate_names_by_id(unobserved),
        )
        for step in steps:
            state = step(state, rng)
        return state.rows, state.names[state.plates]

    return regenerate_unobserved(screen, rng, assign)


def _roots(parent: np.ndarray) -> np.ndarray:
    """Follow ``parent`` pointers ((p,) int64 plate → plate merged into) to their fixed points."""
    roots = parent.copy()
    while True:
        nxt = roots[roots]
        if np.array_equal(nxt, roots):
            return roots
        roots = nxt


def _sample_of_plate(state: PlateRows, who: str) -> np.ndarray:
    return require_one_sample_plates(state.plates, state.samples, state.names, who)


@dataclass(frozen=True)
class MergeMinPlateSmoother:
    """Merge the smallest plates of each sample while together they hold at most ``min_size`` rows.

    Parameters
    ----------
    min_size:
        Per sample (one-sample plates required), a min-heap of (size, plate id): pop the two smallest;
        stop if their total exceeds ``min_size``, else merge the smaller into the other (which keeps
        its name) and push the merged plate back. Paper setting 50 (GDSC²: 200). No draws.
    """

    min_size: int = 50

    def __post_init__(self) -> None:
        check_int(self.min_size, "min_size", 0)

    def smooth(self, screen: Screen, rng: np.random.Generator) -> Screen:
        """Unobserved rows (order kept) in their merged plates, then the observed rows."""
        return smooth_unobserved(screen, rng, [self.step])

    def step(self, state: PlateRows, rng: np.random.Generator) -> PlateRows:
        """:class:`PlateRows` with the merged plates (no draws)."""
        sample_of_plate = _sample_of_plate(state, type(self).__name__)
        sizes = np.bincount(state.plates, minlength=state.names.size)
        parent = np.arange(state.names.size)
        live = sizes > 0
        order = np.flatnonzero(live)[np.argsort(sample_of_plate[live], kind="stable")]
        bounds = np.flatnonzero(np.diff(sample_of_plate[order])) + 1
        for plates in np.split(order, bounds) if order.size else []:
            heap = [(int(sizes[p]), int(p)) for p in plates]
            heapq.heapify(heap)
            while len(heap) > 1:
                size_a, plate_a = heapq.heappop(heap)
                size_b, plate_b = heapq.heappop(heap)
                if size_a + size_b > self.min_size:
                    break
                parent[plate_a] = plate_b
                heapq.heappush(heap, (size_a + size_b, plate_b))
        return state.relabel(_roots(parent))


@dataclass(frozen=True)
class MergeTopBottomPlateSmoother:
    """Per sample and iteration, merge the h = floor(n/2) smallest plates into the h largest.

    Parameters
    ----------
    n_iterations:
        Rounds of merging. Per sample (one-sample plates required), its n plates sorted by (size, id):
        the i-th smallest merges into the i-th largest (i < h), which keeps its name. Paper setting 1.
        No draws.
    """

    n_iterations: int = 1

    def __post_init__(self) -> None:
        check_int(self.n_iterations, "n_iterations", 0)

    def smooth(self, screen: Screen, rng: np.random.Generator) -> Screen:
        """Unobserved rows (order kept) in their merged plates, then the observed rows."""
        return smooth_unobserved(screen, rng, [self.step])

    def step(self, state: PlateRows, rng: np.random.Generator) -> PlateRows:
        """:class:`PlateRows` with the merged plates (no draws)."""
        sample_of_plate = _sample_of_plate(state, type(self).__name__)
        n_labels = state.names.size
        for _ in range(self.n_iterations):
            sizes = np.bincount(state.plates, minlength=n_labels)
            live = np.flatnonzero(sizes)  # current plates, ascending id
            order = live[np.lexsort((live, sizes[live], sample_of_plate[live]))]
            samples = sample_of_plate[order]
            starts = np.flatnonzero(np.r_[True, samples[1:] != samples[:-1]])
            counts = np.diff(np.r_[starts, order.size])
            start = np.repeat(starts, counts)
            count = np.repeat(counts, counts)
            rank = np.arange(order.size) - start
            small = rank < count // 2
            target = np.arange(n_labels)
            target[order[small]] = order[(start + count - 1 - rank)[small]]
            state = state.relabel(target)
        return state


def optimal_plate_size(sizes: np.ndarray) -> int:
    """s_{i*} with s the sorted plate sizes ((p,) int) and i* = argmax s_i·(p − i) (first maximum).

    Trimming every plate to s_{i*} and dropping the smaller ones keeps the most rows.
    """
    s = np.sort(np.asarray(sizes, dtype=np.int64))
    return int(s[np.argmax(s * (s.size - np.arange(s.size)))])


def _trim(state: PlateRows, size: int, rng: np.random.Generator) -> PlateRows:
    """The rows kept when plates smaller than ``size`` are dropped and larger ones trimmed to it.

    Larger plates, in plate-id order, keep ``rng.choice(rows, size, replace=False)`` of their row
    indices (ascending; here positions in ``state``, which ascend with the rows, so the same rows are
    drawn); kept rows stay in screen order.
    """
    keep = np.zeros(state.rows.size, dtype=bool)
    for positions in plate_rows(state.plates):
        if positions.size == size:
            keep[positions] = True
        elif positions.size > size:
            keep[rng.choice(positions, size, replace=False)] = True
    return state.keep(keep)


@dataclass(frozen=True)
class OptimalSizeSmoother:
    """Trim all plates to the size that keeps the most rows (:func:`optimal_plate_size`); drop smaller
    plates; larger ones keep ``rng.choice(rows, size, replace=False)`` rows, in plate-id order."""

    def smooth(self, screen: Screen, rng: np.random.Generator) -> Screen:
        """Kept unobserved rows (screen order), then the observed rows."""
        return smooth_unobserved(screen, rng, [self.step])

    def step(self, state: PlateRows, rng: np.random.Generator) -> PlateRows:
        """:class:`PlateRows` of the kept rows."""
        sizes = np.bincount(state.plates, minlength=state.names.size)
        if not sizes.any():
            return state
        return _trim(state, optimal_plate_size(sizes[sizes > 0]), rng)


@dataclass(frozen=True)
class FixedSizeSmoother:
    """Trim all plates to ``plate_size`` rows and drop smaller plates, as :class:`OptimalSizeSmoother`.

    Parameters
    ----------
    plate_size:
        Rows per plate. Required.
    """

    plate_size: int

    def __post_init__(self) -> None:
        check_int(self.plate_size, "plate_size", 1)

    def smooth(self, screen: Screen, rng: np.random.Generator) -> Screen:
        """Kept unobserved rows (screen order), then the observed rows."""
        return smooth_unobserved(screen, rng, [self.step])

    def step(self, state: PlateRows, rng: np.random.Generator) -> PlateRows:
        """:class:`PlateRows` of the kept rows."""
        return _trim(state, self.plate_size, rng)


@dataclass(frozen=True)
class NPlatePerCellLineSmoother:
    """Drop every unobserved row of samples that have fewer than ``min_n_cell_line_plates`` plates.

    Parameters
    ----------
    min_n_cell_line_plates:
        Least number of (unobserved) plates holding a sample for its rows to stay. Paper setting 3.
        No draws.
    """

    min_n_cell_line_plates: int = 3

    def __post_init__(self) -> None:
        check_int(self.min_n_cell_line_plates, "min_n_cell_line_plates", 0)

    def smooth(self, screen: Screen, rng: np.random.Generator) -> Screen:
        """Kept unobserved rows (screen order), then the observed rows."""
        return smooth_unobserved(screen, rng, [self.step])

    def step(self, state: PlateRows, rng: np.random.Generator) -> PlateRows:
        """:class:`PlateRows` of the kept rows (no draws)."""
        n_samples = int(state.samples.max(initial=-1)) + 1
        pairs = np.unique(state.plates * n_samples + state.samples)
        plates_per_sample = np.bincount(pairs % max(n_samples, 1), minlength=n_samples)
        return state.keep(plates_per_sample[state.samples] >= self.min_n_cell_line_plates)


@dataclass(frozen=True)
class BatchieEnsemblePlateSmoother:
    """:class:`MergeMinPlateSmoother` → :class:`MergeTopBottomPlateSmoother` → :class:`OptimalSizeSmoother`
    → :class:`NPlatePerCellLineSmoother`, in this order, sharing ``rng``.

    Parameters
    ----------
    min_size, n_iterations, min_n_cell_line_plates:
        Of the respective smoothers. Paper setting (50, 1, 3) (GDSC²: min_size 200).
    """

    min_size: int = 50
    n_iterations: int = 1
    min_n_cell_line_plates: int = 3

    def __post_init__(self) -> None:
        check_int(self.min_size, "min_size", 0)
        check_int(self.n_iterations, "n_iterations", 0)
        check_int(self.min_n_cell_line_plates, "min_n_cell_line_plates", 0)

    def smooth(self, screen: Screen, rng: np.random.Generator) -> Screen:
        """The four smoothers applied in turn: unobserved rows first, then the observed rows."""
        steps = [
            MergeMinPlateSmoother(self.min_size).step,
            MergeTopBottomPlateSmoother(self.n_iterations).step,
            OptimalSizeSmoother().step,
            NPlatePerCellLineSmoother(self.min_n_cell_line_plates).step,
        ]
        return smooth_unobserved(screen, rng, steps)
