from pathlib import Path

import pytest

from snakelab.batchie.selected_plate import batch_plate_ids, read_selected_plate, write_selected_plate
from snakelab.core.errors import InputError


def test_round_trip_without_trailing_newline(tmp_path: Path) -> None:
    path = write_selected_plate(tmp_path / "selected_plate", 3)
    assert path.read_bytes() == b"3"
    assert read_selected_plate(path) == 3
    write_selected_plate(path, -1)
    assert path.read_bytes() == b"-1"
    assert read_selected_plate(path) == -1


def test_reference_files_with_a_newline_are_read(tmp_path: Path) -> None:
    (tmp_path / "s").write_text("12\n")
    assert read_selected_plate(tmp_path / "s") == 12


@pytest.mark.parametrize("text", ["", "plate_B", "1.0", "-2", "3 4"])
def test_malformed_files_name_the_field(tmp_path: Path, text: str) -> None:
    (tmp_path / "s").write_text(text)
    with pytest.raises(InputError, match=r"s: selected_plate: expected a plate id"):
        read_selected_plate(tmp_path / "s")


def test_batch_ids_skip_minus_one(tmp_path: Path) -> None:
    files = [write_selected_plate(tmp_path / f"s{i}", v) for i, v in enumerate([4, -1, 0])]
    assert batch_plate_ids([], files) == [4, 0]
    assert batch_plate_ids([2, 5], []) == [2, 5]
