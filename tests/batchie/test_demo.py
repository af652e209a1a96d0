"""The demo screens (spec §10), ``screen_metadata.json`` (§2.5) and the unobserved-plate count (§3.3)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from snakelab.batchie.data import Screen
from snakelab.batchie.demo import demo_screens, make_demo
from snakelab.batchie.io import count_unobserved_plates, screen_metadata, write_screen_metadata
from snakelab.core.errors import InputError

TREATMENT_IDS = [[0, -1], [1, -1], [0, -1], [1, -1]] + [[0, 1]] * 8
SAMPLE_IDS = [0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1]
PLATE_IDS = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
OBSERVATIONS = [0.1, 0.2, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


@pytest.fixture
def demo_files(tmp_path: Path) -> tuple[Path, Path]:
    return make_demo(tmp_path / "resources" / "batchie")


def test_make_demo_writes_exactly_two_files(demo_files: tuple[Path, Path]) -> None:
    unmasked, masked = demo_files
    assert (unmasked.name, masked.name) == ("unmasked_screen.h5", "masked_screen.h5")
    assert sorted(p.name for p in unmasked.parent.iterdir()) == ["masked_screen.h5", "unmasked_screen.h5"]


def test_unmasked_demo_ids_and_values(demo_files: tuple[Path, Path]) -> None:
    screen = Screen.load_h5(demo_files[0])
    assert (screen.size, screen.arity, screen.control_treatment_name) == (12, 2, "control")
    np.testing.assert_array_equal(screen.treatment_ids, TREATMENT_IDS)
    np.testing.assert_array_equal(screen.sample_ids, SAMPLE_IDS)
    np.testing.assert_array_equal(screen.plate_ids, PLATE_IDS)
    np.testing.assert_array_equal(screen.plate_names, [f"plate_{c}" for c in "AAAABBCCDDEE"])
    np.testing.assert_array_equal(screen.treatment_doses, [[1.0, 0.0]] * 4 + [[1.0, 1.0]] * 8)
    np.testing.assert_array_equal(screen.treatment_names[:2], [["drug_A", "control"], ["drug_B", "control"]])
    np.testing.assert_array_equal(screen.observations, OBSERVATIONS)
    assert screen.observation_mask.all()
    assert screen.treatment_mapping == {("control", 0.0): -1, ("drug_A", 1.0): 0, ("drug_B", 1.0): 1}
    assert screen.sample_mapping == {"sample_A": 0, "sample_B": 1}
    assert [(p.plate_id, p.plate_name, p.size) for p in screen.plates] == [
        (0, "plate_A", 4),
        (1, "plate_B", 2),
        (2, "plate_C", 2),
        (3, "plate_D", 2),
        (4, "plate_E", 2),
    ]


def test_masked_demo_observes_only_plate_a(demo_files: tuple[Path, Path]) -> None:
    screen = Screen.load_h5(demo_files[1])
    np.testing.assert_array_equal(screen.treatment_ids, TREATMENT_IDS)
    np.testing.assert_array_equal(screen.plate_ids, PLATE_IDS)
    np.testing.assert_array_equal(screen.observation_mask, [True] * 4 + [False] * 8)
    np.testing.assert_array_equal(screen.observations, OBSERVATIONS[:4] + [0.0] * 8)
    np.testing.assert_array_equal(screen.unobserved_plate_ids, [1, 2, 3, 4])


def test_a_drug_at_dose_zero_is_a_control() -> None:
    unmasked, _ = demo_screens()
    doses = np.array(unmasked.treatment_doses)
    doses[1, 0] = 0.0  # drug_B at dose 0 in row 1
    screen = Screen(
        unmasked.treatment_names,
        doses,
        unmasked.sample_names,
        unmasked.plate_names,
        unmasked.observations,
        control_treatment_name="control",
    )
    expected = np.array(TREATMENT_IDS)
    expected[1] = [-1, -1]
    np.testing.assert_array_equal(screen.treatment_ids, expected)
    assert screen.treatment_mapping[("drug_B", 0.0)] == -1
    assert screen.treatment_mapping[("drug_B", 1.0)] == 1


def test_demo_files_are_byte_identical_across_runs(tmp_path: Path) -> None:
    first = make_demo(tmp_path / "a")
    second = make_demo(tmp_path / "b")
    for x, y in zip(first, second, strict=True):
        assert x.read_bytes() == y.read_bytes()
    # the same size as the reference's fixtures (spec §10): same datasets, dtypes, shapes and filters
    assert [p.stat().st_size for p in first] == [43_168, 43_168]


def test_demo_datasets_are_gzip_without_timestamps(demo_files: tuple[Path, Path]) -> None:
    with h5py.File(demo_files[0], "r") as f:
        assert len(f.keys()) == 14
        for name in f:
            assert (f[name].compression, f[name].compression_opts) == ("gzip", 4), name
            assert h5py.h5o.get_info(f[name].id).ctime == 0, name
        assert f["treatment_names"].dtype == np.dtype("S7")
        assert f["plate_names"].dtype == np.dtype("S7")
        assert f.attrs["control_treatment_name"] == "control"


def test_screen_metadata_of_the_demo(demo_files: tuple[Path, Path]) -> None:
    unmasked = screen_metadata(Screen.load_h5(demo_files[0]))
    masked = screen_metadata(Screen.load_h5(demo_files[1]))
    keys = [
        "n_unique_samples",
        "n_unique_treatments",
        "size",
        "n_plates",
        "n_unobserved_plates",
        "n_observed_plates",
    ]
    assert list(unmasked) == list(masked) == keys
    assert list(unmasked.values()) == [2, 2, 12, 5, 0, 5]
    assert list(masked.values()) == [2, 2, 12, 5, 4, 1]
    assert all(type(v) is int for v in (*unmasked.values(), *masked.values()))


def test_write_screen_metadata_text(tmp_path: Path) -> None:
    _, masked = demo_screens()
    path = write_screen_metadata(masked, tmp_path / "step" / "screen_metadata.json")
    assert path.read_text() == (
        "{\n"
        '    "n_unique_samples": 2,\n'
        '    "n_unique_treatments": 2,\n'
        '    "size": 12,\n'
        '    "n_plates": 5,\n'
        '    "n_unobserved_plates": 4,\n'
        '    "n_observed_plates": 1\n'
        "}"
    )
    assert json.loads(path.read_text())["n_observed_plates"] == 1
    assert sorted(p.name for p in path.parent.iterdir()) == ["screen_metadata.json"]


def test_count_unobserved_plates(demo_files: tuple[Path, Path], tmp_path: Path) -> None:
    unmasked, masked = demo_files
    assert count_unobserved_plates(unmasked) == 0
    assert count_unobserved_plates(masked) == 4
    screen = Screen.load_h5(masked)
    screen.set_observed(screen.get_plate(2).selection_vector)
    screen.save_h5(tmp_path / "advanced_screen.h5")
    assert count_unobserved_plates(tmp_path / "advanced_screen.h5") == 3
    assert (
        count_unobserved_plates(tmp_path / "advanced_screen.h5")
        == Screen.load_h5(tmp_path / "advanced_screen.h5").n_unobserved_plates
    )


def test_count_unobserved_plates_reads_variable_length_names(tmp_path: Path) -> None:
    path = tmp_path / "vlen.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("plate_names", data=np.array(["b", "a", "b", "c"], dtype=h5py.string_dtype()))
        f.create_dataset("observation_mask", data=np.array([False, True, False, False]))
    assert count_unobserved_plates(path) == 2


def test_count_unobserved_plates_names_a_missing_dataset(tmp_path: Path) -> None:
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("plate_names", data=np.array([b"p"]))
    with pytest.raises(InputError, match=rf"^{path}: observation_mask: expected this dataset"):
        count_unobserved_plates(path)
