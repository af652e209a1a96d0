"""Prospective export and ingest (spec §3.6, §8, §11.9) on BATCHIE's masked demo screen.

Masked demo: plate_A (id 0) observed; plate_B..plate_E (ids 1..4) unobserved, two rows each with the
same condition (replicates): plate_B rows 4, 5 (sample_A), plate_C 6, 7 (sample_A), plate_D 8, 9
(sample_B), plate_E 10, 11 (sample_B), all drug_A 1.0 + drug_B 1.0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from snakelab.batchie.data import Screen
from snakelab.batchie.demo import demo_screens
from snakelab.batchie.prospective import (
    check_input_screen,
    export_batch,
    ingest,
    ingest_columns,
    next_batch,
    read_observations,
)
from snakelab.batchie.scoring.main import ChunkedScoresHolder
from snakelab.batchie.selected_plate import write_selected_plate
from snakelab.cli import main as cli
from snakelab.core.errors import InputError

HEADER = ingest_columns(2)
ROW_B = ["plate_B", "sample_A", "drug_A", "1.0", "drug_B", "1.0"]
ROW_D = ["plate_D", "sample_B", "drug_A", "1.0", "drug_B", "1.0"]
#: the filled results of plates D and B (lines 2..5 of the table)
FILLED = [[*ROW_D, "0.7"], [*ROW_D, "0.8"], [*ROW_B, "0.3"], [*ROW_B, "0.4"]]

BATCH_TSV = (
    "order\tplate_id\tplate_name\tn_experiments\tscore\n0\t3\tplate_D\t2\t0.1\n1\t1\tplate_B\t2\t0.2\n"
)
EXPERIMENTS_TSV = (
    "plate_name\tsample_name\ttreatment_name_1\ttreatment_dose_1\ttreatment_name_2\ttreatment_dose_2\tobservation\n"
    "plate_D\tsample_B\tdrug_A\t1.0\tdrug_B\t1.0\t\n"
    "plate_D\tsample_B\tdrug_A\t1.0\tdrug_B\t1.0\t\n"
    "plate_B\tsample_A\tdrug_A\t1.0\tdrug_B\t1.0\t\n"
    "plate_B\tsample_A\tdrug_A\t1.0\tdrug_B\t1.0\t\n"
)


@pytest.fixture
def masked() -> Screen:
    return demo_screens()[1]


def step_scores() -> list[ChunkedScoresHolder]:
    """Step 0 scores plates 1..4 (plate 3 lowest), step 1 the rest (plate 1 lowest)."""
    return [
        ChunkedScoresHolder.from_arrays([1, 2, 3, 4], [0.5, 0.4, 0.1, 0.3]),
        ChunkedScoresHolder.from_arrays([1, 2, 4], [0.2, 0.9, 0.8]),
    ]


def write_table(path: Path, rows: list[list[str]], header: list[str] = HEADER, sep: str = "\t") -> Path:
    path.write_text("".join(sep.join(r) + "\n" for r in [header, *rows]))
    return path


def test_export_writes_the_batch_and_the_experiments_to_run(masked: Screen, tmp_path: Path) -> None:
    batch, experiments = export_batch(masked, [3, 1], step_scores(), tmp_path / "iter_0")
    assert batch == tmp_path / "iter_0" / "next_batch.tsv"
    assert batch.read_text() == BATCH_TSV
    assert experiments.read_text() == EXPERIMENTS_TSV


def test_export_skips_steps_that_selected_nothing_and_keeps_exact_scores(masked: Screen) -> None:
    scores = [ChunkedScoresHolder.from_arrays([2, 4], [-3.430430570787513, 1.0]), ChunkedScoresHolder(0)]
    assert next_batch(masked, [2, -1], scores) == [(0, 2, "plate_C", 2, -3.430430570787513)]
    assert next_batch(masked, [-1, -1], scores) == []


@pytest.mark.parametrize(
    ("selected", "scores", "field", "fragment"),
    [
        ([0, 1], step_scores(), "selected_plate", "step 0: expected an unobserved plate id"),
        ([5, 1], step_scores(), "selected_plate", "found 5"),
        ([3, 3], step_scores(), "selected_plate", "step 1: plate 3 was already selected at step 0"),
        ([3, 3, 1], step_scores(), "scores", "expected the scores of 3 steps, found 2"),
        ([3, 2], [step_scores()[0], ChunkedScoresHolder.from_arrays([1], [0.2])], "scores", "step 1"),
    ],
)
def test_export_rejects_bad_selections(masked, selected, scores, field, fragment, tmp_path) -> None:
    with pytest.raises(InputError) as info:
        export_batch(masked, selected, scores, tmp_path)
    assert info.value.field == field
    assert fragment in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_export_fill_ingest_observes_exactly_the_batch(masked: Screen, tmp_path: Path) -> None:
    _, experiments = export_batch(masked, [3, 1], step_scores(), tmp_path)
    lines = experiments.read_text().splitlines()
    filled = [lines[0]] + [
        f"{line}{value}" for line, value in zip(lines[1:], ["0.7", "0.8", "0.3", "0.4"], strict=True)
    ]
    table = tmp_path / "round_0.tsv"
    table.write_text("\n".join(filled) + "\n")

    rows, values = read_observations(table, masked)
    np.testing.assert_array_equal(rows, [8, 9, 4, 5])
    np.testing.assert_array_equal(values, [0.7, 0.8, 0.3, 0.4])

    out = ingest(masked, table)
    np.testing.assert_array_equal(out.observed_plate_ids, [0, 1, 3])
    np.testing.assert_array_equal(out.unobserved_plate_ids, [2, 4])
    expected = np.array([0.1, 0.2, 0.1, 0.2, 0.3, 0.4, 0, 0, 0.7, 0.8, 0, 0])
    np.testing.assert_array_equal(out.observations, expected)
    np.testing.assert_array_equal(out.observation_mask, np.isin(np.arange(12), [0, 1, 2, 3, 4, 5, 8, 9]))
    for field in (
        "treatment_names",
        "treatment_doses",
        "treatment_ids",
        "sample_ids",
        "plate_names",
        "plate_ids",
    ):
        np.testing.assert_array_equal(getattr(out, field), getattr(masked, field))
    assert out.treatment_mapping == masked.treatment_mapping
    assert out.sample_mapping == masked.sample_mapping
    assert out.control_treatment_name == "control"
    np.testing.assert_array_equal(masked.unobserved_plate_ids, [1, 2, 3, 4])  # the input is unchanged


def test_replicates_match_in_table_order_and_any_column_order_csv_works(
    masked: Screen, tmp_path: Path
) -> None:
    # columns reordered, comma-separated, CRLF line ends, a UTF-8 BOM, doses as integers, a blank last line
    header = ["observation", *HEADER[:-1]]
    rows = [["0.25", "plate_E", "sample_B", "drug_A", "1", "drug_B", "1"]]
    rows += [["0", "plate_C", "sample_A", "drug_A", "1.0", "drug_B", "1e0"]]
    rows += [["1.5", "plate_E", "sample_B", "drug_A", "1", "drug_B", "1"]]
    rows += [["0.5", "plate_C", "sample_A", "drug_A", "1.0", "drug_B", "1.0"]]
    text = "\ufeff" + "".join(",".join(r) + "\r\n" for r in [header, *rows]) + "\r\n"
    table = tmp_path / "round_0.csv"
    table.write_bytes(text.encode("utf-8"))
    rows_, values = read_observations(table, masked)
    np.testing.assert_array_equal(rows_, [10, 6, 11, 7])
    np.testing.assert_array_equal(values, [0.25, 0.0, 1.5, 0.5])
    out = ingest(masked, table)
    np.testing.assert_array_equal(out.observations[[6, 7, 10, 11]], [0.0, 0.5, 0.25, 1.5])
    np.testing.assert_array_equal(out.unobserved_plate_ids, [1, 3])


def _drop_column(rows: list[list[str]], index: int) -> list[list[str]]:
    return [r[:index] + r[index + 1 :] for r in rows]


def _set(line: int, column: str, value: str):
    """Set one cell of data line ``line`` (the header is line 1)."""

    def edit(header: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
        rows = [list(r) for r in rows]
        rows[line - 2][header.index(column)] = value
        return header, rows

    return edit


MALFORMED = {
    "missing column": (
        lambda h, r: (h[:-1], _drop_column(r, 6)),
        "line 1, column observation",
        "expected this column, found it missing",
    ),
    "unknown column": (
        lambda h, r: ([*h, "notes"], [[*x, "ok"] for x in r]),
        "line 1, column notes",
        "expected one of plate_name, sample_name",
    ),
    "duplicate column": (
        lambda h, r: (["plate_name", "plate_name", *h[2:]], r),
        "line 1, column plate_name",
        "expected each column once",
    ),
    "short row": (
        lambda h, r: (h, [r[0], r[1][:-1], *r[2:]]),
        "line 3, column observation",
        "expected 7 fields (one per header column), found 6",
    ),
    "long row": (
        lambda h, r: (h, [[*r[0], "x"], *r[1:]]),
        "line 2, column 8",
        "expected 7 fields",
    ),
    "empty observation": (
        _set(2, "observation", ""),
        "line 2, column observation",
        "a viability (a number), found ''",
    ),
    "text observation": (_set(3, "observation", "high"), "line 3, column observation", "found 'high'"),
    "negative observation": (
        _set(4, "observation", "-0.1"),
        "line 4, column observation",
        ">= 0, found '-0.1'",
    ),
    "nan observation": (
        _set(5, "observation", "nan"),
        "line 5, column observation",
        "expected a finite number",
    ),
    "infinite observation": (_set(2, "observation", "inf"), "line 2, column observation", "finite number"),
    "text dose": (_set(4, "treatment_dose_2", "one"), "line 4, column treatment_dose_2", "a dose (a number)"),
    "nan dose": (_set(3, "treatment_dose_1", "NaN"), "line 3, column treatment_dose_1", "finite number"),
    "earliest line first": (
        lambda h, r: _set(2, "treatment_dose_2", "x")(*_set(3, "observation", "x")(h, r)),
        "line 2, column treatment_dose_2",
        "a dose",
    ),
    "unknown plate": (_set(2, "plate_name", "plate_Z"), "line 2, column plate_name", "a plate of the screen"),
    "observed plate": (
        lambda h, r: (h, [*r, ["plate_A", "sample_A", "drug_A", "1.0", "control", "0.0", "0.1"]]),
        "line 6, column plate_name",
        "expected an unobserved plate, found 'plate_A' already observed",
    ),
    "sample not on plate": (
        _set(2, "sample_name", "sample_A"),
        "line 2, column sample_name",
        "found 'sample_A'",
    ),
    "unknown treatment": (
        _set(4, "treatment_name_1", "drug_C"),
        "line 4, column treatment_name_1",
        "'drug_C'",
    ),
    "wrong dose": (_set(5, "treatment_dose_1", "2.0"), "line 5, column treatment_dose_1", "found '2.0'"),
    "swapped slots": (
        lambda h, r: _set(4, "treatment_name_2", "drug_A")(*_set(4, "treatment_name_1", "drug_B")(h, r)),
        "line 4, column treatment_name_1",
        "found 'drug_B'",
    ),
    "repeated experiment": (
        lambda h, r: (h, [*r, [*ROW_B, "0.5"]]),
        "line 6, columns plate_name..treatment_dose_2",
        "more often than plate 'plate_B' holds it (2)",
    ),
    "partial plate": (
        lambda h, r: (h, [r[0], *r[2:]]),
        "line 2, column plate_name",
        "expected all 2 experiments of plate 'plate_D' (plates are ingested whole), found 1",
    ),
    "header only": (lambda h, r: (h, []), "line 2", "expected at least one experiment row, found none"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_tables_fail_naming_file_line_and_column(masked, tmp_path, case) -> None:
    edit, field, fragment = MALFORMED[case]
    header, rows = edit(list(HEADER), [list(r) for r in FILLED])
    table = write_table(tmp_path / "results.tsv", rows, header)
    with pytest.raises(InputError) as info:
        ingest(masked, table)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{table}: {field}: ")
    assert fragment in message

    # the stage exits 2 and writes nothing
    screen, output = tmp_path / "masked.screen.h5", tmp_path / "out" / "input.screen.h5"
    masked.save_h5(screen)
    argv = [
        "batchie",
        "ingest",
        "--screen",
        str(screen),
        "--observations",
        str(table),
        "--output",
        str(output),
    ]
    assert cli(argv) == 2
    assert not output.parent.exists() or list(output.parent.iterdir()) == []


def test_empty_and_missing_files(masked: Screen, tmp_path: Path) -> None:
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    with pytest.raises(InputError, match=r"empty\.tsv: line 1: expected the header plate_name"):
        ingest(masked, empty)
    with pytest.raises(InputError, match=r"missing\.tsv: file: expected an existing results table"):
        ingest(masked, tmp_path / "missing.tsv")


def test_the_stages_round_trip_through_files(masked: Screen, tmp_path: Path) -> None:
    screen = tmp_path / "masked_screen.h5"
    masked.save_h5(screen)
    selected, scores = [], []
    for j, holder in enumerate(step_scores()):
        d = tmp_path / f"plate_{j}"
        write_selected_plate(d / "selected_plate", [3, 1][j])
        # two chunks per step: the holder's scores split in two files
        half = holder.current_index // 2
        for k, part in enumerate((slice(0, half), slice(half, None))):
            ChunkedScoresHolder.from_arrays(holder.plate_ids[part], holder.scores[part]).save_h5(
                d / f"score_chunk_{k}.h5"
            )
            scores.append(str(d / f"score_chunk_{k}.h5"))
        selected.append(str(d / "selected_plate"))
    out = tmp_path / "iter_0"
    argv = ["batchie", "export-batch", "--screen", str(screen), "--selected", *selected, "--scores", *scores]
    assert cli([*argv, "--output-dir", str(out)]) == 0
    assert (out / "next_batch.tsv").read_text() == BATCH_TSV
    assert (out / "next_batch_experiments.tsv").read_text() == EXPERIMENTS_TSV
    # three score files cannot be split over two steps
    assert cli([*argv[:-1], "--output-dir", str(tmp_path / "bad")]) == 2
    assert not (tmp_path / "bad").exists()

    table = write_table(tmp_path / "round_0.tsv", FILLED)
    ingested = tmp_path / "iter_1" / "input.screen.h5"
    argv = [
        "batchie",
        "ingest",
        "--screen",
        str(screen),
        "--observations",
        str(table),
        "--output",
        str(ingested),
    ]
    assert cli(argv) == 0
    loaded = Screen.load_h5(ingested)
    np.testing.assert_array_equal(loaded.observed_plate_ids, [0, 1, 3])
    np.testing.assert_array_equal(loaded.observations[[4, 5, 8, 9]], [0.3, 0.4, 0.7, 0.8])
    assert loaded.treatment_mapping == masked.treatment_mapping
    assert loaded.sample_mapping == masked.sample_mapping


def test_a_prospective_input_needs_observed_and_unobserved_plates(masked: Screen, tmp_path: Path) -> None:
    unmasked = demo_screens()[0]
    masked.save_h5(tmp_path / "masked.h5")
    assert check_input_screen(tmp_path / "masked.h5") == 4
    unmasked.save_h5(tmp_path / "unmasked.h5")
    with pytest.raises(InputError, match=r"unmasked\.h5: observation_mask: .*found every plate observed$"):
        check_input_screen(tmp_path / "unmasked.h5")
    hidden = unmasked.subset(np.arange(4, 12))  # plates B..E, then marked unobserved
    blank = Screen(
        hidden.treatment_names,
        hidden.treatment_doses,
        hidden.sample_names,
        hidden.plate_names,
        np.zeros(8),
        np.zeros(8, dtype=bool),
        control_treatment_name="control",
    )
    blank.save_h5(tmp_path / "blank.h5")
    with pytest.raises(InputError, match=r"blank\.h5: observation_mask: .*found no observed experiment$"):
        check_input_screen(tmp_path / "blank.h5")
