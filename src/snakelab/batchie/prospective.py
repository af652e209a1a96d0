"""Prospective rounds (spec §3.6): export the next batch for the lab, ingest the lab's results.

Round r designs a batch on the screen S_r; :func:`export_batch` writes

- ``next_batch.tsv``: one row per selected plate, columns ``order`` (the step j, 0-based: the
  ``plate_<j>`` directory that selected it), ``plate_id`` (id in S_r), ``plate_name``,
  ``n_experiments`` (rows of the plate) and ``score`` (its score at step j; lower is better);
- ``next_batch_experiments.tsv``: the experiments to run, plate by plate in batch order and in
  screen-row order within a plate, in the ingest columns with an empty ``observation``.

The lab fills ``observation`` and the file (TSV or CSV) becomes S_{r+1} through :func:`ingest`. Ingest
columns, in any order: ``plate_name``, ``sample_name``, ``treatment_name_1``, ``treatment_dose_1``, …,
``treatment_name_a``, ``treatment_dose_a``, ``observation`` (a = the screen's arity). Each row names one
unobserved experiment of S_r by its plate, sample and treatment slots (doses compared as numbers, slot
order as in the screen); a condition held by several rows of a plate (replicates) is matched by
occurrence: its k-th row in the table is the k-th such row of the plate in screen order. Plates are
ingested whole (every unobserved row of a named plate, or none); values must be finite and ≥ 0. The
result keeps the row order, the other rows and the mappings of S_r. A malformed table raises
:class:`~snakelab.core.errors.InputError` naming the file, the line and the column; nothing is written.

Only numpy, h5py (through :mod:`snakelab.batchie.data`) and the standard library's ``csv`` are used.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from snakelab.batchie.data import Screen
from snakelab.batchie.io import count_unobserved_plates
from snakelab.batchie.scoring.main import ChunkedScoresHolder
from snakelab.core.atomic import write_text
from snakelab.core.errors import InputError

__all__ = [
    "BATCH_COLUMNS",
    "BATCH_EXPERIMENTS_FILE",
    "BATCH_FILE",
    "batch_experiments",
    "check_input_screen",
    "export_batch",
    "ingest",
    "ingest_columns",
    "next_batch",
    "read_observations",
]

#: Columns of ``next_batch.tsv``.
BATCH_COLUMNS = ("order", "plate_id", "plate_name", "n_experiments", "score")
BATCH_FILE = "next_batch.tsv"
BATCH_EXPERIMENTS_FILE = "next_batch_experiments.tsv"


def check_input_screen(path: str | os.PathLike[str]) -> int:
    """U_0 of a prospective input screen, read cheaply (``plate_names`` and ``observation_mask`` only).

    InputError naming the file unless the screen has at least one observed and one unobserved plate.
    """
    n_unobserved = count_unobserved_plates(path)
    with h5py.File(path, "r") as f:
        n_observed = int(np.count_nonzero(f["observation_mask"][()]))
    if n_unobserved == 0 or n_observed == 0:
        raise InputError(
            path,
            "observation_mask",
            "expected at least one observed and one unobserved plate (prospective mode), found "
            f"{'no observed experiment' if n_observed == 0 else 'every plate observed'}",
        )
    return n_unobserved


def ingest_columns(arity: int) -> list[str]:
    """The ingest header of a screen of arity a: plate, sample, (name, dose) per slot, observation."""
    slots = [f"treatment_{kind}_{s}" for s in range(1, arity + 1) for kind in ("name", "dose")]
    return ["plate_name", "sample_name", *slots, "observation"]


def _number(value: float) -> str:
    """A float as the shortest text that reads back to the same float (``1.0``, ``-inf``)."""
    return repr(float(value))


def _tsv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _batch_plate_ids(screen: Screen, selected: Sequence[int]) -> list[tuple[int, int]]:
    """(step j, plate id) of every selection ≥ 0; InputError unless each is a distinct unobserved plate."""
    picks = [(j, int(p)) for j, p in enumerate(selected) if int(p) >= 0]
    unobserved = set(screen.unobserved_plate_ids.tolist())
    seen: dict[int, int] = {}
    for j, plate_id in picks:
        if plate_id not in unobserved:
            raise InputError(
                None,
                "selected_plate",
                f"step {j}: expected an unobserved plate id of the screen "
                f"({sorted(unobserved)}), found {plate_id}",
            )
        if plate_id in seen:
            raise InputError(
                None,
                "selected_plate",
                f"step {j}: plate {plate_id} was already selected at step {seen[plate_id]}",
            )
        seen[plate_id] = j
    return picks


def next_batch(
    screen: Screen, selected: Sequence[int], step_scores: Sequence[ChunkedScoresHolder]
) -> list[tuple[int, int, str, int, float]]:
    """Rows of ``next_batch.tsv``: (order j, plate id, plate name, n experiments, score at step j).

    ``selected``: the ``selected_plate`` id of each step j of the round (−1 = nothing selected, skipped);
    ``step_scores``: the joined score chunks of each step, one holder per step.
    """
    if len(step_scores) != len(selected):
        raise InputError(
            None, "scores", f"expected the scores of {len(selected)} steps, found {len(step_scores)}"
        )
    rows = []
    counts = np.bincount(screen.plate_ids, minlength=screen.n_plates)
    for j, plate_id in _batch_plate_ids(screen, selected):
        try:
            score = step_scores[j].get_score(plate_id)
        except ValueError as exc:
            raise InputError(None, "scores", f"step {j}: {exc}") from None
        name = str(screen.get_plate(plate_id).plate_name)
        rows.append((j, plate_id, name, int(counts[plate_id]), score))
    return rows


def batch_experiments(screen: Screen, plate_ids: Sequence[int]) -> list[list[str]]:
    """Rows of ``next_batch_experiments.tsv`` (ingest columns, empty observation) for the given plates.

    Plates in the given order; each plate's rows in screen-row order.
    """
    rows = np.concatenate(
        [np.flatnonzero(screen.plate_ids == int(p)) for p in plate_ids] + [np.zeros(0, dtype=np.int64)]
    )
    names, doses = screen.treatment_names[rows].tolist(), screen.treatment_doses[rows].tolist()
    return [
        [
            plate,
            sample,
            *(cell for name, dose in zip(n, d, strict=True) for cell in (name, _number(dose))),
            "",
        ]
        for plate, sample, n, d in zip(
            screen.plate_names[rows].tolist(), screen.sample_names[rows].tolist(), names, doses, strict=True
        )
    ]


def export_batch(
    screen: Screen,
    selected: Sequence[int],
    step_scores: Sequence[ChunkedScoresHolder],
    output_dir: str | os.PathLike[str],
) -> tuple[Path, Path]:
    """Write ``next_batch.tsv`` and ``next_batch_experiments.tsv`` into ``output_dir``; return their paths.

    Both tables are built before either file is written (each written atomically).
    """
    batch = next_batch(screen, selected, step_scores)
    summary = _tsv(BATCH_COLUMNS, [[str(j), str(p), name, str(n), _number(s)] for j, p, name, n, s in batch])
    experiments = _tsv(ingest_columns(screen.arity), batch_experiments(screen, [row[1] for row in batch]))
    output_dir = Path(output_dir)
    paths = (output_dir / BATCH_FILE, output_dir / BATCH_EXPERIMENTS_FILE)
    write_text(paths[0], summary)
    write_text(paths[1], experiments)
    return paths


@dataclass(frozen=True)
class _Table:
    """The parsed cells of an ingest table: (t,) columns and the line number of each row."""

    lines: np.ndarray
    plates: np.ndarray
    samples: np.ndarray
    names: np.ndarray  # (t, a)
    doses: np.ndarray  # (t, a) float64
    values: np.ndarray  # (t,) float64


def _read_rows(path: str | os.PathLike[str], arity: int) -> tuple[list[int], dict[str, np.ndarray]]:
    """(line numbers, (t,) str cells by column) of the data rows; InputError for a bad header or row."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(
            path, "file", "expected an existing results table (TSV or CSV), found none"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, "file", f"expected a readable UTF-8 text table ({exc})") from None
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if "\t" in first else ",")
    expected = ingest_columns(arity)
    header = [cell.strip() for cell in next(reader, [])]
    if not any(header):
        raise InputError(path, "line 1", f"expected the header {', '.join(expected)}, found an empty line")
    for column in header:
        if column not in expected:
            raise InputError(
                path, f"line 1, column {column or '(empty)'}", f"expected one of {', '.join(expected)}"
            )
        if header.count(column) > 1:
            raise InputError(path, f"line 1, column {column}", "expected each column once, found it twice")
    for column in expected:
        if column not in header:
            raise InputError(path, f"line 1, column {column}", "expected this column, found it missing")
    position = [header.index(column) for column in expected]
    lines, cells = [], []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            column = header[len(row)] if len(row) < len(header) else str(len(header) + 1)
            raise InputError(
                path,
                f"line {reader.line_num}, column {column}",
                f"expected {len(header)} fields (one per header column), found {len(row)}",
            )
        lines.append(reader.line_num)
        cells.append([row[i] for i in position])
    if not cells:
        raise InputError(path, "line 2", "expected at least one experiment row, found none")
    columns = np.array(cells, dtype=str).T
    return lines, {column: columns[i] for i, column in enumerate(expected)}


def _floats(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values, parsed) of a column of number texts; unparsable cells give NaN and ``parsed`` False."""
    try:
        return cells.astype(np.float64), np.ones(cells.size, dtype=bool)
    except ValueError:
        values = np.full(cells.size, np.nan)
        parsed = np.zeros(cells.size, dtype=bool)
        for i, cell in enumerate(cells.tolist()):  # error path only: find the unparsable cells
            try:
                values[i], parsed[i] = float(cell), True
            except ValueError:
                pass
        return values, parsed


def _parse(path: str | os.PathLike[str], arity: int) -> _Table:
    """Read and type-check an ingest table; the first bad cell (by line, then column) is reported."""
    lines, cells = _read_rows(path, arity)
    line_numbers = np.asarray(lines, dtype=np.int64)
    problems: list[tuple[int, int, str, str]] = []  # (line, column rank, column, expectation)
    numbers = {}
    for rank, column in enumerate(ingest_columns(arity)):
        if not (column.startswith("treatment_dose_") or column == "observation"):
            continue
        values, parsed = _floats(cells[column])
        numbers[column] = values
        what = "a viability" if column == "observation" else "a dose"
        checks = [
            (~parsed, f"expected {what} (a number)"),
            (parsed & ~np.isfinite(values), "expected a finite number"),
        ]
        if column == "observation":
            checks.append((np.isfinite(values) & (values < 0), "expected a value >= 0"))
        for bad, expectation in checks:
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                problems.append((lines[i], rank, column, f"{expectation}, found {str(cells[column][i])!r}"))
    if problems:
        line, _, column, expectation = min(problems)
        raise InputError(path, f"line {line}, column {column}", expectation)
    slots = range(1, arity + 1)
    return _Table(
        lines=line_numbers,
        plates=cells["plate_name"],
        samples=cells["sample_name"],
        names=np.stack([cells[f"treatment_name_{s}"] for s in slots], axis=1),
        doses=np.stack([numbers[f"treatment_dose_{s}"] for s in slots], axis=1),
        values=numbers["observation"],
    )


def _joint_codes(
    screen_columns: list[np.ndarray], table_columns: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """One int64 key per row over several columns, comparable between the screen and the table rows."""
    n = screen_columns[0].size
    codes = []
    for s, t in zip(screen_columns, table_columns, strict=True):
        codes.append(np.unique(np.concatenate([s, t]), return_inverse=True)[1].reshape(-1))
    keys = np.unique(np.stack(codes, axis=1), axis=0, return_inverse=True)[1].reshape(-1)
    return keys[:n].astype(np.int64), keys[n:].astype(np.int64)


def _occurrence(keys: np.ndarray) -> np.ndarray:
    """(n,) int64: how many earlier entries of ``keys`` hold the same key (0 for the first)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, keys.size]))
    rank = np.empty(keys.size, dtype=np.int64)
    rank[order] = np.arange(keys.size) - group_start
    return rank


def _unmatched_error(path: str | os.PathLike[str], screen: Screen, table: _Table, t: int) -> InputError:
    """Why table row ``t`` matches no unobserved row: the first column that rules every row out."""
    line = int(table.lines[t])
    plate = str(table.plates[t])
    on_plate = screen.plate_names == plate
    if not on_plate.any():
        return InputError(
            path, f"line {line}, column plate_name", f"expected a plate of the screen, found {plate!r}"
        )
    candidates = on_plate & ~screen.observation_mask
    if not candidates.any():
        return InputError(
            path,
            f"line {line}, column plate_name",
            f"expected an unobserved plate, found {plate!r} already observed",
        )
    checks = [("sample_name", screen.sample_names, table.samples[t])]
    for s in range(screen.arity):
        checks.append((f"treatment_name_{s + 1}", screen.treatment_names[:, s], table.names[t, s]))
        checks.append((f"treatment_dose_{s + 1}", screen.treatment_doses[:, s], table.doses[t, s]))
    for column, values, value in checks:
        narrowed = candidates & (values == value)
        if not narrowed.any():
            shown = _number(value) if column.startswith("treatment_dose_") else str(value)
            return InputError(
                path,
                f"line {line}, column {column}",
                f"expected a {column} among the unobserved experiments of plate {plate!r} that match "
                f"the columns before it, found {shown!r}",
            )
        candidates = narrowed
    return InputError(
        path,
        f"line {line}, columns plate_name..treatment_dose_{screen.arity}",
        f"expected each experiment once, found this condition more often than plate {plate!r} holds it "
        f"({int(candidates.sum())})",
    )


def read_observations(path: str | os.PathLike[str], screen: Screen) -> tuple[np.ndarray, np.ndarray]:
    """Match an ingest table against the unobserved rows of ``screen``.

    Returns ((t,) int64 screen row indices, (t,) float64 values) in table order. Raises InputError
    (file, line, column) for a malformed table, a row matching no unobserved experiment, or a plate
    given only in part.
    """
    table = _parse(path, screen.arity)
    unobserved = ~screen.observation_mask
    # only the unobserved rows of the plates the table names can match (a batch, not the whole screen)
    hidden = np.flatnonzero(unobserved & np.isin(screen.plate_names, np.unique(table.plates)))
    screen_keys, table_keys = _joint_codes(
        [screen.plate_names[hidden], screen.sample_names[hidden]]
        + [screen.treatment_names[hidden, s] for s in range(screen.arity)]
        + [screen.treatment_doses[hidden, s] for s in range(screen.arity)],
        [table.plates, table.samples]
        + [table.names[:, s] for s in range(screen.arity)]
        + [table.doses[:, s] for s in range(screen.arity)],
    )
    # (key, occurrence) identifies one row on each side; the k-th table row of a key is its k-th screen row
    width = max(hidden.size, table.lines.size) + 1
    screen_codes = screen_keys * width + _occurrence(screen_keys)
    table_codes = table_keys * width + _occurrence(table_keys)
    order = np.argsort(screen_codes)
    position = np.minimum(np.searchsorted(screen_codes[order], table_codes), max(hidden.size - 1, 0))
    if hidden.size:
        matched = screen_codes[order][position] == table_codes
    else:
        matched = np.zeros(table_codes.size, dtype=bool)
    if not matched.all():
        raise _unmatched_error(path, screen, table, int(np.flatnonzero(~matched)[0]))
    rows = hidden[order[position]]
    plate_ids = screen.plate_ids[rows]
    needed = np.bincount(screen.plate_ids[unobserved], minlength=screen.n_plates)
    given = np.bincount(plate_ids, minlength=screen.n_plates)
    partial = np.flatnonzero((given > 0) & (given < needed))
    if partial.size:
        first_line = np.full(screen.n_plates, np.iinfo(np.int64).max)
        np.minimum.at(first_line, plate_ids, table.lines)
        plate = int(partial[np.argmin(first_line[partial])])
        name = str(screen.get_plate(plate).plate_name)
        raise InputError(
            path,
            f"line {int(first_line[plate])}, column plate_name",
            f"expected all {int(needed[plate])} experiments of plate {name!r} (plates are ingested whole), "
            f"found {int(given[plate])}",
        )
    return rows.astype(np.int64), table.values


def ingest(screen: Screen, path: str | os.PathLike[str]) -> Screen:
    """S_{r+1}: a copy of ``screen`` with the rows of the results table observed at the table's values.

    Row order, the other rows' values and the mappings are unchanged; ``screen`` itself is not modified.
    """
    rows, values = read_observations(path, screen)
    ingested = screen.copy()
    ingested.set_observed(rows, values)
    return ingested
