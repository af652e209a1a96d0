"""Training statistics and validation scores of a run, their files, and best (iteration, parameter) selection.

Spec §7 and §10. ``TrainingStats`` holds one :class:`TrainingIterationStats` (iteration, loss, wall seconds)
per trained iteration and is stored as ``training_stats.csv`` (``iteration,loss,time``).
``ValidationScores`` holds, per validated iteration, a float array scores[dataset][parameter][criterion]
(NaN allowed) and is stored as ``validation_scores.json`` (NaN written as ``null``) and as a long
``validation_scores.csv`` (``iteration,dataset,parameter,criterion,value``). Parameters are the
post-processing parameter keys (``bias_0.10``, ``threshold_-0.25``, ``argmax``). Every file is written
atomically; every round trip is exact (floats written with ``repr``) and keeps NaN.

xarray is imported only by the functions that build or reduce DataArrays.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from snakelab.core.atomic import write_text
from snakelab.core.errors import InputError

if TYPE_CHECKING:
    import xarray as xr

log = logging.getLogger(__name__)

TRAINING_STATS_COLUMNS = ("iteration", "loss", "time")
VALIDATION_SCORES_COLUMNS = ("iteration", "dataset", "parameter", "criterion", "value")


def _float_text(value: float) -> str:
    """Shortest text that parses back to the same float (``nan``, ``inf`` included)."""
    return repr(float(value))


@dataclass(frozen=True)
class TrainingIterationStats:
    """One training iteration: its index, the task loss and the wall seconds of the whole iteration."""

    iteration: int
    loss: float
    time: float


class TrainingStats:
    """Per-iteration training statistics, kept in increasing iteration order."""

    def __init__(self, iteration_stats: Iterable[TrainingIterationStats] = ()) -> None:
        self.iteration_stats: list[TrainingIterationStats] = []
        for stats in iteration_stats:
            self.add_iteration_stats(stats)

    def __len__(self) -> int:
        return len(self.iteration_stats)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TrainingStats):
            return NotImplemented
        return len(self) == len(other) and all(
            a.iteration == b.iteration and _same_float(a.loss, b.loss) and _same_float(a.time, b.time)
            for a, b in zip(self.iteration_stats, other.iteration_stats, strict=True)
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def iterations(self) -> list[int]:
        """The recorded iteration indices, increasing."""
        return [stats.iteration for stats in self.iteration_stats]

    def add_iteration_stats(self, iteration_stats: TrainingIterationStats) -> None:
        """Append ``iteration_stats``; an iteration ≤ the last one first drops the entries from it on
        (with a warning)."""
        if self.iteration_stats and iteration_stats.iteration <= self.iteration_stats[-1].iteration:
            log.warning(
                "training stats: iteration %d already recorded (last %d); deleting from %d on",
                iteration_stats.iteration,
                self.iteration_stats[-1].iteration,
                iteration_stats.iteration,
            )
            self.delete_after(iteration_stats.iteration)
        self.iteration_stats.append(iteration_stats)

    def delete_after(self, iteration: int) -> None:
        """Keep only the entries with iteration < ``iteration``."""
        self.iteration_stats = [stats for stats in self.iteration_stats if stats.iteration < iteration]

    def trained_until(self) -> int:
        """The last recorded iteration + 1 (the number of iterations trained); 0 when empty."""
        return self.iteration_stats[-1].iteration + 1 if self.iteration_stats else 0

    def to_xarray(self) -> xr.DataArray:
        """The losses as a DataArray named ``loss`` with dim ``iterations`` (coordinate = iteration)."""
        import xarray as xr

        return xr.DataArray(
            np.array([stats.loss for stats in self.iteration_stats], dtype=np.float64),
            dims=("iterations",),
            coords={"iterations": np.array(self.iterations, dtype=np.int64)},
            name="loss",
        )

    def to_csv_text(self) -> str:
        """``training_stats.csv`` content: header ``iteration,loss,time`` then one row per iteration."""
        lines = [",".join(TRAINING_STATS_COLUMNS)]
        lines += [f"{s.iteration},{_float_text(s.loss)},{_float_text(s.time)}" for s in self.iteration_stats]
        return "\n".join(lines) + "\n"

    def write(self, path: str | PathLike[str]) -> Path:
        """Write ``training_stats.csv`` to ``path`` atomically."""
        return write_text(path, self.to_csv_text())

    @classmethod
    def read(cls, path: str | PathLike[str]) -> TrainingStats:
        """Read a ``training_stats.csv``; a wrong header or row raises :class:`InputError`."""
        rows = list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
        if not rows or tuple(rows[0]) != TRAINING_STATS_COLUMNS:
            raise InputError(path, "header", f"expected {','.join(TRAINING_STATS_COLUMNS)}")
        stats = cls()
        for number, row in enumerate(rows[1:], start=2):
            try:
                iteration, loss, time = row
                stats.add_iteration_stats(TrainingIterationStats(int(iteration), float(loss), float(time)))
            except ValueError as error:
                raise InputError(path, f"line {number}", f"expected integer,float,float ({error})") from None
        return stats


def _same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _score_array(scores: Any) -> np.ndarray:
    try:
        array = np.array(scores, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"scores must be a rectangular [dataset][parameter][criterion] array: {error}"
        ) from None
    if array.ndim != 3:
        raise ValueError(f"scores must have 3 axes [dataset][parameter][criterion], got shape {array.shape}")
    return array


class ValidationIterationScores:
    """One validated iteration's scores: float64 array (n_datasets, n_parameters, n_criteria), NaN allowed.

    ``scores`` is nested lists scores[dataset][parameter][criterion] or an array; anything that is not a
    rectangular 3-axis array raises ValueError.
    """

    def __init__(self, iteration: int, scores: Any) -> None:
        self.iteration = int(iteration)
        self.scores = _score_array(scores)

    def __repr__(self) -> str:
        return f"ValidationIterationScores(iteration={self.iteration}, scores shape {self.scores.shape})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ValidationIterationScores):
            return NotImplemented
        return self.iteration == other.iteration and np.array_equal(self.scores, other.scores, equal_nan=True)

    __hash__ = None  # type: ignore[assignment]


class ValidationScores:
    """Validation scores of a run: per validated iteration, scores[dataset][parameter][criterion].

    ``higher_is_better`` maps every criterion to True (max is best) or False (min is best); a sequence
    aligned with ``criteria`` is accepted too. ``scores`` are kept in increasing iteration order.
    """

    def __init__(
        self,
        parameters: Sequence[str],
        datasets: Sequence[str],
        criteria: Sequence[str],
        higher_is_better: Mapping[str, bool] | Sequence[bool],
        scores: Iterable[ValidationIterationScores] = (),
    ) -> None:
        self.parameters = [str(p) for p in parameters]
        self.datasets = [str(d) for d in datasets]
        self.criteria = [str(c) for c in criteria]
        for name, values in (
            ("parameters", self.parameters),
            ("datasets", self.datasets),
            ("criteria", self.criteria),
        ):
            if len(set(values)) != len(values):
                raise ValueError(f"{name} must be unique, got {values}")
        if isinstance(higher_is_better, Mapping):
            missing = [c for c in self.criteria if c not in higher_is_better]
            if missing:
                raise ValueError(f"higher_is_better has no entry for criteria {missing}")
            self.higher_is_better = {c: bool(higher_is_better[c]) for c in self.criteria}
        else:
            flags = list(higher_is_better)
            if len(flags) != len(self.criteria):
                raise ValueError(
                    f"higher_is_better has {len(flags)} entries for {len(self.criteria)} criteria"
                )
            self.higher_is_better = {c: bool(f) for c, f in zip(self.criteria, flags, strict=True)}
        self.scores: list[ValidationIterationScores] = []
        for iteration_scores in scores:
            self.add_iteration_scores(iteration_scores)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(n_datasets, n_parameters, n_criteria): the shape every iteration's scores must have."""
        return (len(self.datasets), len(self.parameters), len(self.criteria))

    @property
    def iterations(self) -> list[int]:
        """The validated iterations, increasing."""
        return [s.iteration for s in self.scores]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ValidationScores):
            return NotImplemented
        return (
            self.parameters == other.parameters
            and self.datasets == other.datasets
            and self.criteria == other.criteria
            and self.higher_is_better == other.higher_is_better
            and self.scores == other.scores
        )

    __hash__ = None  # type: ignore[assignment]

    def add_iteration_scores(self, iteration_scores: ValidationIterationScores) -> None:
        """Append one iteration's scores (shape checked: ValueError); an iteration ≤ the last one first
        drops the scores from it on (warning)."""
        if iteration_scores.scores.shape != self.shape:
            raise ValueError(
                f"iteration {iteration_scores.iteration}: scores shape {iteration_scores.scores.shape}, "
                f"expected (n_datasets, n_parameters, n_criteria) = {self.shape}"
            )
        if self.scores and iteration_scores.iteration <= self.scores[-1].iteration:
            log.warning(
                "validation scores: iteration %d already recorded (last %d); deleting from %d on",
                iteration_scores.iteration,
                self.scores[-1].iteration,
                iteration_scores.iteration,
            )
            self.delete_after(iteration_scores.iteration)
        self.scores.append(iteration_scores)

    def delete_after(self, iteration: int) -> None:
        """Keep only the scores of iterations < ``iteration``."""
        self.scores = [s for s in self.scores if s.iteration < iteration]

    def validated_until(self) -> int:
        """The largest validated iteration + 1; 0 when empty."""
        return max(self.iterations) + 1 if self.scores else 0

    def to_array(self) -> np.ndarray:
        """All scores as float64 (n_iterations, n_datasets, n_parameters, n_criteria)."""
        if not self.scores:
            return np.empty((0, *self.shape), dtype=np.float64)
        return np.stack([s.scores for s in self.scores])

    def to_xarray(self) -> xr.DataArray:
        """DataArray ``scores``, dims (iterations, datasets, parameters, criteria), with coordinates."""
        import xarray as xr

        return xr.DataArray(
            self.to_array(),
            dims=("iterations", "datasets", "parameters", "criteria"),
            coords={
                "iterations": np.array(self.iterations, dtype=np.int64),
                "datasets": self.datasets,
                "parameters": self.parameters,
                "criteria": self.criteria,
            },
            name="scores",
        )

    def get_best(self, data: xr.DataArray, dim: str) -> tuple[xr.DataArray, xr.DataArray]:
        """Reduce ``dim`` of ``data`` per criterion with this run's higher_is_better (:func:`get_best`)."""
        return get_best(data, dim, self.higher_is_better)

    def to_json_dict(self) -> dict[str, Any]:
        """The ``validation_scores.json`` document (NaN as None)."""
        return {
            "datasets": self.datasets,
            "parameters": self.parameters,
            "criteria": self.criteria,
            "higher_is_better": dict(self.higher_is_better),
            "scores": [{"iteration": s.iteration, "scores": _nan_to_none(s.scores)} for s in self.scores],
        }

    @classmethod
    def from_json_dict(
        cls, document: Mapping[str, Any], path: str | PathLike[str] | None = None
    ) -> ValidationScores:
        """Inverse of :meth:`to_json_dict` (``null`` → NaN); malformed documents raise :class:`InputError`."""
        try:
            scores = cls(
                parameters=document["parameters"],
                datasets=document["datasets"],
                criteria=document["criteria"],
                higher_is_better=document["higher_is_better"],
            )
            for entry in document["scores"]:
                values = _none_to_nan(entry["scores"])
                scores.add_iteration_scores(ValidationIterationScores(int(entry["iteration"]), values))
        except KeyError as error:
            raise InputError(path, str(error.args[0]), "missing key in validation scores") from None
        except (TypeError, ValueError) as error:
            raise InputError(path, "scores", str(error)) from None
        return scores

    def write_json(self, path: str | PathLike[str]) -> Path:
        """Write ``validation_scores.json`` atomically (strict JSON: NaN as ``null``)."""
        return write_text(path, json.dumps(self.to_json_dict(), indent=1, allow_nan=False) + "\n")

    @classmethod
    def read_json(cls, path: str | PathLike[str]) -> ValidationScores:
        """Read a ``validation_scores.json``."""
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise InputError(path, "json", f"expected a JSON document ({error})") from None
        return cls.from_json_dict(document, path)

    def to_csv_text(self) -> str:
        """Long CSV ``iteration,dataset,parameter,criterion,value`` (C-order over the grid, NaN as nan)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(VALIDATION_SCORES_COLUMNS)
        for s in self.scores:
            for d, dataset in enumerate(self.datasets):
                for p, parameter in enumerate(self.parameters):
                    for c, criterion in enumerate(self.criteria):
                        writer.writerow(
                            (s.iteration, dataset, parameter, criterion, _float_text(s.scores[d, p, c]))
                        )
        return buffer.getvalue()

    def write_csv(self, path: str | PathLike[str]) -> Path:
        """Write ``validation_scores.csv`` atomically."""
        return write_text(path, self.to_csv_text())

    @classmethod
    def read_csv(
        cls, path: str | PathLike[str], higher_is_better: Mapping[str, bool] | None = None
    ) -> ValidationScores:
        """Read a long ``validation_scores.csv``; names keep their order of first appearance.

        The CSV does not hold ``higher_is_better``: pass it, or it is taken from :func:`higher_is_better`
        of each criterion name. Every (iteration, dataset, parameter, criterion) must appear exactly once.
        """
        rows = list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
        if not rows or tuple(rows[0]) != VALIDATION_SCORES_COLUMNS:
            raise InputError(path, "header", f"expected {','.join(VALIDATION_SCORES_COLUMNS)}")
        values: dict[tuple[int, str, str, str], float] = {}
        order: dict[str, dict[str, None]] = {"iteration": {}, "dataset": {}, "parameter": {}, "criterion": {}}
        for number, row in enumerate(rows[1:], start=2):
            try:
                iteration, dataset, parameter, criterion, value = row
                key = (int(iteration), dataset, parameter, criterion)
                values[key] = float(value)
            except ValueError as error:
                raise InputError(
                    path, f"line {number}", f"expected int,str,str,str,float ({error})"
                ) from None
            for name, item in zip(order, (iteration, dataset, parameter, criterion), strict=True):
                order[name].setdefault(item)
        datasets, parameters, criteria = (list(order[k]) for k in ("dataset", "parameter", "criterion"))
        iterations = sorted({int(i) for i in order["iteration"]})
        if len(values) != len(rows) - 1 or len(values) != len(iterations) * len(datasets) * len(
            parameters
        ) * len(criteria):
            raise InputError(
                path, "rows", "expected each (iteration, dataset, parameter, criterion) exactly once"
            )
        flags = (
            higher_is_better
            if higher_is_better is not None
            else {c: _criterion_direction(c) for c in criteria}
        )
        scores = cls(parameters, datasets, criteria, flags)
        for iteration in iterations:
            grid = [[[values[(iteration, d, p, c)] for c in criteria] for p in parameters] for d in datasets]
            scores.add_iteration_scores(ValidationIterationScores(iteration, grid))
        return scores


def _criterion_direction(criterion: str) -> bool:
    from snakelab.segment.evaluate.criteria import higher_is_better

    return higher_is_better(criterion)


def _nan_to_none(array: np.ndarray) -> Any:
    if array.ndim == 0:
        value = float(array)
        return None if math.isnan(value) else value
    return [_nan_to_none(item) for item in array]


def _none_to_nan(values: Any) -> Any:
    if values is None:
        return math.nan
    if isinstance(values, list):
        return [_none_to_nan(v) for v in values]
    return values


def _best_along(values: np.ndarray, axis: int, higher: bool) -> tuple[np.ndarray, np.ndarray]:
    """Positions (−1 where all NaN) and values of the best entry along ``axis``: NaN skipped, first tie."""
    values = np.moveaxis(np.asarray(values, dtype=np.float64), axis, -1)
    valid = ~np.isnan(values)
    keyed = np.where(valid, values if higher else -values, -np.inf)
    best = keyed.max(axis=-1, initial=-np.inf)
    candidates = valid & (keyed == best[..., None])
    found = candidates.any(axis=-1)
    if values.shape[-1] == 0:
        return np.full(found.shape, -1), np.full(found.shape, np.nan)
    position = np.where(found, np.argmax(candidates, axis=-1), -1)
    chosen = np.take_along_axis(values, np.maximum(position, 0)[..., None], axis=-1)[..., 0]
    return position, np.where(found, chosen, np.nan)


def _python_scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def get_best(
    data: xr.DataArray, dim: str, higher_is_better: Mapping[str, bool]
) -> tuple[xr.DataArray, xr.DataArray]:
    """Reduce ``dim`` of ``data`` per criterion: max where higher is better, else min; NaN skipped.

    ``data`` has a ``criteria`` dimension or a scalar ``criteria`` coordinate (after ``.sel(criteria=…)``).
    Returns ``(indices, values)`` over the remaining dims: ``indices`` holds the coordinate value along
    ``dim`` of the best entry (object dtype; the first one on ties; None where every entry is NaN),
    ``values`` the best score (float64; NaN where every entry is NaN).
    """
    import xarray as xr

    if dim not in data.dims:
        raise ValueError(f"dimension {dim!r} not in {data.dims}")
    if "criteria" not in data.coords:
        raise ValueError("data needs a 'criteria' dimension or coordinate")
    coordinate = data[dim].values if dim in data.coords else np.arange(data.sizes[dim])
    scalar_criterion = "criteria" not in data.dims
    pieces = (
        [data.expand_dims("criteria")]
        if scalar_criterion
        else [data.isel(criteria=[i]) for i in range(data.sizes["criteria"])]
    )
    index_parts, value_parts = [], []
    for piece in pieces:
        criterion = str(piece["criteria"].values[0])
        if criterion not in higher_is_better:
            raise ValueError(f"no higher_is_better entry for criterion {criterion!r}")
        axis = piece.get_axis_num(dim)
        position, best = _best_along(piece.values, axis, higher_is_better[criterion])
        labels = np.empty(position.shape, dtype=object)
        for where, p in np.ndenumerate(position):
            labels[where] = None if p < 0 else _python_scalar(coordinate[p])
        dims = [d for d in piece.dims if d != dim]
        coords = {name: c for name, c in piece.coords.items() if dim not in c.dims}
        index_parts.append(xr.DataArray(labels, dims=dims, coords=coords))
        value_parts.append(xr.DataArray(best, dims=dims, coords=coords))
    indices = xr.concat(index_parts, dim="criteria")
    values = xr.concat(value_parts, dim="criteria")
    if scalar_criterion:
        indices, values = indices.isel(criteria=0), values.isel(criteria=0)
    return indices, values


@dataclass(frozen=True)
class BestSelection:
    """The best (iteration, parameter) of a run for one criterion (spec §10).

    ``value`` is the mean over validation datasets, ``per_dataset`` the scores it averages.
    """

    criterion: str
    higher_is_better: bool
    iteration: int
    parameter: str
    value: float
    per_dataset: dict[str, float]


def select_best(
    scores: ValidationScores, criterion: str, source: str | PathLike[str] | None = None
) -> BestSelection:
    """Pick the best (iteration, parameter) pair for ``criterion`` jointly over the whole grid.

    The score of a pair is its mean over the validation datasets (NaN if any dataset is NaN). Best = max
    when higher is better, else min; NaN pairs are skipped; ties → the lowest iteration, then the first
    parameter. An unknown criterion, no scores or every pair NaN raise :class:`InputError` naming ``source``.
    """
    if criterion not in scores.criteria:
        raise InputError(source, "criterion", f"expected one of {scores.criteria}, got {criterion!r}")
    if not scores.scores:
        raise InputError(source, "scores", "no validated iteration")
    # (iterations, datasets, parameters), iterations increasing (add_iteration_scores keeps them so)
    grid = scores.to_array()[..., scores.criteria.index(criterion)]
    mean = grid.mean(axis=1)  # NaN if any dataset is NaN
    higher = scores.higher_is_better[criterion]
    position, best = _best_along(mean.reshape(-1), 0, higher)
    if int(position) < 0:
        raise InputError(source, f"criterion {criterion}", "every (iteration, parameter) score is NaN")
    i, p = np.unravel_index(int(position), mean.shape)
    return BestSelection(
        criterion=criterion,
        higher_is_better=higher,
        iteration=scores.iterations[i],
        parameter=scores.parameters[p],
        value=float(best),
        per_dataset={d: float(grid[i, k, p]) for k, d in enumerate(scores.datasets)},
    )
