"""Step 3 of prepare (spec §7): plate generators, which cut the unobserved rows into new plates.

Each generator has ``generate(screen, rng) -> Screen``: it regenerates the plates of the unobserved rows
and returns them first, then the observed rows unchanged (mappings kept, plate ids re-derived from the
names). Generated plates are named ``generated_plate_{idx}``; plate ids are the rank of the name, so
``generated_plate_10`` sorts before ``generated_plate_2``.
"""

from dataclasses import dataclass

import numpy as np

from snakelab.batchie.data import Screen
from snakelab.batchie.experiment_space import unique_strings
from snakelab.batchie.prepare.params import check_int
from snakelab.batchie.prepare.rebuild import generated_plate_names, regenerate_unobserved
from snakelab.core.errors import InputError

__all__ = [
    "PairwisePlateGenerator",
    "PlatePermutationPlateGenerator",
    "SampleSegregatingPermutationPlateGenerator",
]


@dataclass(frozen=True)
class PlatePermutationPlateGenerator:
    """Shuffle the plate names over the unobserved rows: plate sizes stay, memberships change.

    Parameters
    ----------
    force_include_plate_names:
        Plates left as they are (a name or a list of names); their rows follow the shuffled rows.
        ``None`` (default): every unobserved plate takes part.

    Draws ``rng.permutation`` of the (k,) plate-name array of the participating rows (once, also when
    k = 0).
    """

    force_include_plate_names: list[str] | None = None

    def __post_init__(self) -> None:
        names = self.force_include_plate_names
        if names is None:
            return
        if isinstance(names, str):
            names = [names]
        if not all(isinstance(name, str) for name in names):
            raise InputError(
                None, "force_include_plate_names", f"expected a list of plate names, found {names!r}"
            )
        object.__setattr__(self, "force_include_plate_names", list(names))

    def generate(self, screen: Screen, rng: np.random.Generator) -> Screen:
        """Unobserved rows outside the excluded plates (order kept, names permuted), then the excluded
        unobserved rows, then the observed rows."""
        return regenerate_unobserved(screen, rng, self._assign)

    def _assign(self, screen: Screen, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        names = screen.plate_names
        excluded = np.zeros(screen.size, dtype=bool)
        if self.force_include_plate_names:
            excluded = np.isin(names, np.asarray(self.force_include_plate_names, dtype=str))
        free, fixed = np.flatnonzero(~excluded), np.flatnonzero(excluded)
        shuffled = rng.permutation(names[free])
        return np.concatenate([free, fixed]), np.concatenate([shuffled, names[fixed]])


def _split_groups(ids: np.ndarray, subset_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``np.array_split(rng.permutation(ids), max(len // subset_size, 1))`` (the reference fails at 0)."""
    return np.array_split(rng.permutation(ids), max(ids.size // subset_size, 1))


@dataclass(frozen=True)
class PairwisePlateGenerator:
    """Plates of one sample × one pair of drug groups (spec §7 step 3).

    Parameters
    ----------
    subset_size:
        Target number of treatment ids per group: ids are split into ``len // subset_size`` groups
        (at least one). Paper setting 20.
    anchor_size:
        When > 0, the ``anchor_size`` ids most frequent in combination rows are grouped among
        themselves and the others among themselves (paper: 0; GDSC²: 100).

    Combination rows (no control slot) go to plate (sample id, sorted group ids of their slots),
    plates named ``generated_plate_{idx}`` in sorted-key order. Rows with a control slot then go, per
    sample name ascending, to plates drawn by ``rng.choice(that sample's sorted plate names, n,
    replace=True)``. A sample with such rows but no combination plate gets one plate of its own
    (``generated_plate_{idx}``, idx continuing; no draw), where the reference fails.
    """

    subset_size: int = 20
    anchor_size: int = 0

    def __post_init__(self) -> None:
        check_int(self.subset_size, "subset_size", 1)
        check_int(self.anchor_size, "anchor_size", 0)

    def generate(self, screen: Screen, rng: np.random.Generator) -> Screen:
        """Unobserved rows (order kept) in their generated plates, then the observed rows."""
        return regenerate_unobserved(screen, rng, self._assign)

    def _assign(self, screen: Screen, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        ids = screen.treatment_ids
        combo = np.all(ids >= 0, axis=1)
        distinct, counts = np.unique(ids[combo].ravel(), return_counts=True)
        if self.anchor_size > 0:
            order = np.argsort(-counts)
            groups = _split_groups(distinct[order[: self.anchor_size]], self.subset_size, rng)
            groups += _split_groups(distinct[order[self.anchor_size :]], self.subset_size, rng)
        else:
            groups = _split_groups(distinct, self.subset_size, rng)
        n_groups = len(groups)
        group_of = np.zeros(int(distinct.max(initial=-1)) + 1, dtype=np.int64)
        group_of[np.concatenate(groups)] = np.repeat(np.arange(n_groups), [g.size for g in groups])

        plate_index = np.empty(screen.size, dtype=np.int64)
        slot_groups = np.sort(group_of[ids[combo]], axis=1)
        keys = screen.sample_ids[combo]
        for column in slot_groups.T:
            keys = keys * n_groups + column
        plate_keys, plate_index[combo] = np.unique(keys, return_inverse=True)
        plate_sample = plate_keys // n_groups ** ids.shape[1]  # ascending: keys sort by sample first
        n_plates = plate_keys.size

        single = np.flatnonzero(~combo)
        _, name_rank = unique_strings(screen.sample_names[single])
        by_name = np.argsort(name_rank, kind="stable")
        bounds = np.flatnonzero(np.diff(name_rank[by_name])) + 1
        for rows in np.split(single[by_name], bounds) if single.size else []:
            sample_id = screen.sample_ids[rows[0]]
            lo, hi = np.searchsorted(plate_sample, [sample_id, sample_id + 1])
            if hi > lo:
                # the sample's plates in sorted-name order; a choice among them equals one among the names
                candidates = np.arange(lo, hi)
                candidates = candidates[np.argsort(generated_plate_names(candidates), kind="stable")]
                plate_index[rows] = rng.choice(candidates, rows.size, replace=True)
            else:
                plate_index[rows] = n_plates
                n_plates += 1
        return np.arange(screen.size), generated_plate_names(plate_index)


@dataclass(frozen=True)
class SampleSegregatingPermutationPlateGenerator:
    """Plates of one sample each, at most ``max_plate_size`` rows (spec §7 step 3, with its fix).

    Parameters
    ----------
    max_plate_size:
        Largest plate (rows). Required.

    Per sample id ascending: a sample with more than ``max_plate_size`` rows has ``rng.permutation``
    of its row indices split by ``np.array_split`` into ceil(n / max_plate_size) near-equal plates;
    a sample with at most ``max_plate_size`` rows becomes one plate (no draw; the reference lumps all
    such rows into one plate named ``""``). Plates are named ``generated_plate_{idx}`` with a running
    idx over samples and their parts. Row order is kept.
    """

    max_plate_size: int

    def __post_init__(self) -> None:
        check_int(self.max_plate_size, "max_plate_size", 1)

    def generate(self, screen: Screen, rng: np.random.Generator) -> Screen:
        """Unobserved rows (order kept) in their one-sample plates, then the observed rows."""
        return regenerate_unobserved(screen, rng, self._assign)

    def _assign(self, screen: Screen, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        plate_index = np.empty(screen.size, dtype=np.int64)
        order = np.argsort(screen.sample_ids, kind="stable")
        bounds = np.flatnonzero(np.diff(screen.sample_ids[order])) + 1
        next_index = 0
        for rows in np.split(order, bounds) if screen.size else []:
            if rows.size <= self.max_plate_size:
                plate_index[rows] = next_index
                next_index += 1
                continue
            n_parts = -(-rows.size // self.max_plate_size)
            small, n_large = divmod(rows.size, n_parts)
            sizes = np.where(np.arange(n_parts) < n_large, small + 1, small)
            # equal to labelling the parts of np.array_split(rng.permutation(rows), n_parts)
            plate_index[rng.permutation(rows)] = np.repeat(next_index + np.arange(n_parts), sizes)
            next_index += n_parts
        return np.arange(screen.size), generated_plate_names(plate_index)
