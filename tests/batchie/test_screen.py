"""Screen (spec §2.1, §2.6): id derivation, HDF5 layout and round trip, BATCHIE's files, validation, views."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from snakelab.batchie import experiment_space
from snakelab.batchie.data import ExperimentSpace, Plate, Screen, ScreenSubset
from snakelab.batchie.experiment_space import unique_strings
from snakelab.core.errors import InputError

ROW_FIELDS = (
    "treatment_names",
    "treatment_doses",
    "treatment_ids",
    "sample_names",
    "sample_ids",
    "plate_names",
    "plate_ids",
    "observations",
    "observation_mask",
)


def screen_kwargs(**overrides: Any) -> dict[str, Any]:
    """Four rows, three plates, mixed-case and control names; overrides replace arguments."""
    kwargs: dict[str, Any] = {
        "treatment_names": [["b", "control"], ["a", "b"], ["a", "a"], ["B", "control"]],
        "treatment_doses": [[1.0, 0.0], [2.0, 1.0], [1.0, 2.0], [0.5, 0.0]],
        "sample_names": ["s2", "s1", "s1", "s3"],
        "plate_names": ["p1", "p1", "p2", "p3"],
        "observations": [0.5, 0.25, 0.75, 1.0],
        "observation_mask": [True, True, False, True],
        "control_treatment_name": "control",
    }
    kwargs.update(overrides)
    return kwargs


def assert_same_screen(a: Screen, b: Screen) -> None:
    for field in ROW_FIELDS:
        x, y = getattr(a, field), getattr(b, field)
        assert x.dtype == y.dtype or x.dtype.kind == y.dtype.kind == "U", field
        np.testing.assert_array_equal(x, y, err_msg=field)
    assert a.experiment_space == b.experiment_space
    assert a.control_treatment_name == b.control_treatment_name


# --- ids -------------------------------------------------------------------------------------------


def test_ids_follow_sorted_name_dose_pairs() -> None:
    screen = Screen(**screen_kwargs())
    # sorted pairs: ("B", 0.5) 0, ("a", 1.0) 1, ("a", 2.0) 2, ("b", 1.0) 3, ("control", 0.0) -1
    np.testing.assert_array_equal(screen.treatment_ids, [[3, -1], [2, 3], [1, 2], [0, -1]])
    assert screen.treatment_ids.dtype == np.int64
    np.testing.assert_array_equal(screen.sample_ids, [1, 0, 0, 2])
    np.testing.assert_array_equal(screen.plate_ids, [0, 0, 1, 2])
    assert screen.treatment_mapping == {
        ("B", 0.5): 0,
        ("a", 1.0): 1,
        ("a", 2.0): 2,
        ("b", 1.0): 3,
        ("control", 0.0): -1,
    }
    assert screen.sample_mapping == {"s1": 0, "s2": 1, "s3": 2}
    assert (screen.size, screen.arity, screen.n_plates) == (4, 2, 3)
    assert (screen.n_unique_samples, screen.n_unique_treatments) == (3, 4)
    assert (screen.experiment_space.n_treatments, screen.experiment_space.n_samples) == (4, 3)


def test_controls_take_minus_one_and_do_not_count_in_the_rank() -> None:
    # sorted pairs: ("a", 0.0) control, ("a", 1.0), ("a", 2.0), ("b", 1.0), ("c", -1.0) control,
    # ("control", 3.0) control by name although its dose is positive
    screen = Screen(
        treatment_names=[["a", "b"], ["a", "c"], ["a", "b"], ["control", "b"]],
        treatment_doses=[[0.0, 1.0], [1.0, -1.0], [2.0, 1.0], [3.0, 1.0]],
        sample_names=["s"] * 4,
        plate_names=["p"] * 4,
        control_treatment_name="control",
    )
    np.testing.assert_array_equal(screen.treatment_ids, [[-1, 2], [0, -1], [1, 2], [-1, 2]])
    np.testing.assert_array_equal(screen.unique_treatments, [0, 1, 2])
    assert screen.n_unique_treatments == 3


def test_default_control_name_marks_controls_by_dose_only() -> None:
    screen = Screen([["x", "y"]], [[1.0, 0.0]], ["s"], ["p"])
    assert screen.control_treatment_name == ""
    np.testing.assert_array_equal(screen.treatment_ids, [[0, -1]])
    assert screen.treatment_mapping == {("x", 1.0): 0, ("y", 0.0): -1}


def test_names_sort_as_python_strings() -> None:
    names = ["é", "z", "Z", "a10", "a2"]
    screen = Screen([[n] for n in names], [[1.0]] * 5, names, names)
    # code point order, as sorted() on str: "Z" < "a10" < "a2" < "z" < "é"
    order = {name: rank for rank, name in enumerate(sorted(names))}
    expected = [order[n] for n in names]
    np.testing.assert_array_equal(screen.treatment_ids[:, 0], expected)
    np.testing.assert_array_equal(screen.sample_ids, expected)
    np.testing.assert_array_equal(screen.plate_ids, expected)
    assert expected == [4, 3, 0, 1, 2]


def test_plate_ids_are_ranks_of_plate_names() -> None:
    names = ["generated_plate_2", "generated_plate_10", "generated_plate_1", "generated_plate_2"]
    screen = Screen([["d"]] * 4, [[1.0]] * 4, ["s"] * 4, names)
    np.testing.assert_array_equal(screen.plate_ids, [2, 1, 0, 2])
    assert [p.plate_name for p in screen.plates] == [
        "generated_plate_1",
        "generated_plate_10",
        "generated_plate_2",
    ]


def test_given_mappings_fix_the_ids() -> None:
    screen = Screen(
        **screen_kwargs(
            treatment_mapping={("b", 1.0): 0, ("a", 2.0): 1, ("a", 1.0): 2, ("B", 0.5): 3, ("zz", 1.0): 4},
            sample_mapping={"s3": 0, "s2": 1, "s1": 2, "s0": 3},
        )
    )
    np.testing.assert_array_equal(screen.treatment_ids, [[0, -1], [1, 0], [2, 1], [3, -1]])
    np.testing.assert_array_equal(screen.sample_ids, [1, 2, 2, 0])
    # the universe is the mapping (plus the rows' control pair), not the rows
    assert (screen.experiment_space.n_treatments, screen.experiment_space.n_samples) == (5, 4)
    assert screen.treatment_mapping[("control", 0.0)] == -1
    assert (screen.n_unique_treatments, screen.n_unique_samples) == (4, 3)


def test_observation_defaults() -> None:
    unobserved = Screen(**screen_kwargs(observations=None, observation_mask=None))
    np.testing.assert_array_equal(unobserved.observations, np.zeros(4))
    assert not unobserved.observation_mask.any()
    observed = Screen(**screen_kwargs(observation_mask=None))
    assert observed.is_observed


def test_arrays_are_read_only() -> None:
    screen = Screen(**screen_kwargs())
    with pytest.raises(ValueError, match="read-only"):
        screen.observations[0] = 1.0


def test_nan_allowed_in_unobserved_rows() -> None:
    screen = Screen(**screen_kwargs(observations=[0.5, 0.25, np.nan, 1.0]))
    assert np.isnan(screen.observations[2])


# --- HDF5 ------------------------------------------------------------------------------------------

EXPECTED_LAYOUT = {  # dataset: (dtype kind or exact dtype, shape) for screen_kwargs()
    "treatment_names": ("S7", (4, 2)),
    "treatment_doses": ("<f8", (4, 2)),
    "treatment_ids": ("<i8", (4, 2)),
    "treatment_mapping_names": ("S7", (5,)),
    "treatment_mapping_doses": ("<f8", (5,)),
    "treatment_mapping_ids": ("<i8", (5,)),
    "observations": ("<f8", (4,)),
    "observation_mask": ("bool", (4,)),
    "sample_ids": ("<i8", (4,)),
    "sample_names": ("S2", (4,)),
    "sample_mapping_names": ("S2", (3,)),
    "sample_mapping_ids": ("<i8", (3,)),
    "plate_ids": ("<i8", (4,)),
    "plate_names": ("S2", (4,)),
}


def test_file_layout_matches_the_spec(tmp_path: Path) -> None:
    path = tmp_path / "x.screen.h5"
    Screen(**screen_kwargs()).save_h5(path)
    with h5py.File(path, "r") as f:
        assert set(f.keys()) == set(EXPECTED_LAYOUT)
        for name, (dtype, shape) in EXPECTED_LAYOUT.items():
            ds = f[name]
            assert (ds.dtype, ds.shape) == (np.dtype(dtype), shape), name
            assert (ds.compression, ds.compression_opts) == ("gzip", 4), name
            info = h5py.h5o.get_info(ds.id)
            assert (info.ctime, info.mtime) == (0, 0), name  # track_times=False
            assert len(ds.attrs) == 0, name
        assert dict(f.attrs) == {"control_treatment_name": "control"}
        info = h5py.check_string_dtype(f.attrs.get_id("control_treatment_name").dtype)
        assert (info.encoding, info.length) == ("utf-8", None)
        np.testing.assert_array_equal(f["treatment_mapping_names"][()], [b"B", b"a", b"a", b"b", b"control"])
        np.testing.assert_array_equal(f["treatment_mapping_doses"][()], [0.5, 1.0, 2.0, 1.0, 0.0])
        np.testing.assert_array_equal(f["treatment_mapping_ids"][()], [0, 1, 2, 3, -1])
        np.testing.assert_array_equal(f["treatment_ids"][()], [[3, -1], [2, 3], [1, 2], [0, -1]])
        np.testing.assert_array_equal(f["plate_ids"][()], [0, 0, 1, 2])


def test_utf8_names_are_fixed_width_bytes(tmp_path: Path) -> None:
    path = tmp_path / "u.h5"
    Screen([["é"], ["x"]], [[1.0], [1.0]], ["ß", "s"], ["p", "p"]).save_h5(path)
    with h5py.File(path, "r") as f:
        assert f["treatment_names"].dtype == np.dtype("S2")
        np.testing.assert_array_equal(f["treatment_names"][()], [["é".encode()], [b"x"]])
    loaded = Screen.load_h5(path)
    np.testing.assert_array_equal(loaded.treatment_names, [["é"], ["x"]])
    np.testing.assert_array_equal(loaded.sample_names, ["ß", "s"])


def test_round_trip_keeps_every_array(tmp_path: Path) -> None:
    screen = Screen(
        **screen_kwargs(treatment_mapping={("a", 1.0): 1, ("a", 2.0): 0, ("b", 1.0): 2, ("B", 0.5): 3})
    )
    screen.save_h5(tmp_path / "a.h5")
    loaded = Screen.load_h5(tmp_path / "a.h5")
    assert_same_screen(screen, loaded)
    np.testing.assert_array_equal(loaded.treatment_ids, [[2, -1], [0, 2], [1, 0], [3, -1]])


def test_same_content_gives_same_bytes(tmp_path: Path) -> None:
    Screen(**screen_kwargs()).save_h5(tmp_path / "a.h5")
    Screen(**screen_kwargs()).save_h5(tmp_path / "b.h5")
    Screen.load_h5(tmp_path / "a.h5").save_h5(tmp_path / "c.h5")
    data = (tmp_path / "a.h5").read_bytes()
    assert data == (tmp_path / "b.h5").read_bytes() == (tmp_path / "c.h5").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5", "b.h5", "c.h5"]


def write_batchie_layout(path: Path, **replace: Any) -> None:
    """A screen file as BATCHIE writes it (uncompressed here), with deliberately wrong stored row ids."""
    datasets: dict[str, Any] = {
        "treatment_names": np.char.encode(
            np.array([["drug_B", "ctrl"], ["drug_A", "drug_B"], ["drug_A", "ctrl"]])
        ),
        "treatment_doses": np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0]]),
        "treatment_ids": np.full((3, 2), 7, dtype=np.int64),
        "treatment_mapping_names": np.char.encode(np.array(["drug_B", "ctrl", "drug_A", "drug_C"])),
        "treatment_mapping_doses": np.array([1.0, 0.0, 1.0, 1.0]),
        "treatment_mapping_ids": np.array([1, -1, 0, 2]),
        "observations": np.array([0.2, 0.0, 0.4]),
        "observation_mask": np.array([True, False, True]),
        "sample_ids": np.array([5, 5, 5]),
        "sample_names": np.char.encode(np.array(["cl2", "cl1", "cl2"])),
        "sample_mapping_names": np.char.encode(np.array(["cl2", "cl1"])),
        "sample_mapping_ids": np.array([1, 0]),
        "plate_ids": np.array([9, 3, 9]),
        "plate_names": np.char.encode(np.array(["plate_9", "plate_10", "plate_9"])),
    }
    datasets.update(replace)
    with h5py.File(path, "w") as f:
        for name, data in datasets.items():
            if data is not None:
                f.create_dataset(name, data=data)
        f.attrs["control_treatment_name"] = "ctrl"


def test_batchie_layout_loads_with_rederived_ids(tmp_path: Path) -> None:
    path = tmp_path / "batchie.h5"
    write_batchie_layout(path)
    screen = Screen.load_h5(path)
    np.testing.assert_array_equal(screen.treatment_ids, [[1, -1], [0, 1], [0, -1]])
    np.testing.assert_array_equal(screen.sample_ids, [1, 0, 1])
    np.testing.assert_array_equal(screen.plate_ids, [1, 0, 1])  # "plate_10" < "plate_9"
    assert screen.treatment_mapping == {
        ("ctrl", 0.0): -1,
        ("drug_A", 1.0): 0,
        ("drug_B", 1.0): 1,
        ("drug_C", 1.0): 2,
    }
    assert screen.experiment_space.n_treatments == 3  # drug_C only in the universe
    assert screen.n_unique_treatments == 2
    assert screen.control_treatment_name == "ctrl"
    np.testing.assert_array_equal(screen.unobserved_plate_ids, [0])
    # our save of it is BATCHIE's layout again, and loads back identically
    screen.save_h5(tmp_path / "ours.h5")
    assert_same_screen(screen, Screen.load_h5(tmp_path / "ours.h5"))


def test_batchie_layout_without_mappings_derives_them(tmp_path: Path) -> None:
    path = tmp_path / "batchie.h5"
    names = ("treatment_mapping_names", "treatment_mapping_doses", "treatment_mapping_ids")
    write_batchie_layout(path, **dict.fromkeys(names), sample_mapping_names=None, sample_mapping_ids=None)
    screen = Screen.load_h5(path)
    np.testing.assert_array_equal(screen.treatment_ids, [[1, -1], [0, 1], [0, -1]])
    assert screen.experiment_space.n_treatments == 2
    assert screen.sample_mapping == {"cl1": 0, "cl2": 1}


def test_variable_length_string_datasets_load(tmp_path: Path) -> None:
    path = tmp_path / "vlen.h5"
    vlen = h5py.string_dtype()
    write_batchie_layout(path, plate_names=np.array(["plate_9", "plate_10", "plate_9"], dtype=vlen))
    np.testing.assert_array_equal(Screen.load_h5(path).plate_names, ["plate_9", "plate_10", "plate_9"])


# --- validation ------------------------------------------------------------------------------------

CONSTRUCTOR_ERRORS = {
    "short sample_names": ({"sample_names": ["s1", "s2", "s3"]}, "sample_names"),
    "short plate_names": ({"plate_names": ["p1"]}, "plate_names"),
    "short observations": ({"observations": [0.1, 0.2]}, "observations"),
    "short observation_mask": ({"observation_mask": [True]}, "observation_mask"),
    "1-D treatment_names": ({"treatment_names": ["a", "b", "a", "b"]}, "treatment_names"),
    "doses of another shape": ({"treatment_doses": [[1.0], [1.0], [1.0], [1.0]]}, "treatment_doses"),
    "integer doses": ({"treatment_doses": [[1, 0], [2, 1], [1, 2], [1, 0]]}, "treatment_doses"),
    "NaN dose": ({"treatment_doses": [[np.nan, 0.0], [2.0, 1.0], [1.0, 2.0], [0.5, 0.0]]}, "treatment_doses"),
    "integer observations": ({"observations": [1, 0, 1, 1]}, "observations"),
    "numeric sample_names": ({"sample_names": [1, 2, 3, 4]}, "sample_names"),
    "numeric plate_names": ({"plate_names": np.arange(4)}, "plate_names"),
    "numeric treatment_names": ({"treatment_names": np.ones((4, 2))}, "treatment_names"),
    "integer observation_mask": ({"observation_mask": [1, 1, 0, 1]}, "observation_mask"),
    "plate half observed": ({"observation_mask": [True, False, False, True]}, "observation_mask"),
    "NaN in an observed row": ({"observations": [np.nan, 0.25, 0.75, 1.0]}, "observations"),
    "mapping ids with a gap": (
        {"treatment_mapping": {("a", 1.0): 0, ("a", 2.0): 2, ("b", 1.0): 3, ("B", 0.5): 4}},
        "treatment_mapping_ids",
    ),
    "non-control mapped to -1": (
        {"treatment_mapping": {("a", 1.0): 0, ("a", 2.0): 1, ("b", 1.0): 2, ("B", 0.5): -1}},
        "treatment_mapping_ids",
    ),
    "control mapped to an id": (
        {
            "treatment_mapping": {
                ("a", 1.0): 0,
                ("a", 2.0): 1,
                ("b", 1.0): 2,
                ("B", 0.5): 3,
                ("control", 0.0): 4,
            }
        },
        "treatment_mapping_ids",
    ),
    "pair missing from mapping": (
        {"treatment_mapping": {("a", 1.0): 0, ("a", 2.0): 1, ("b", 1.0): 2}},
        "treatment_names",
    ),
    "sample ids not from 0": ({"sample_mapping": {"s1": 1, "s2": 2, "s3": 3}}, "sample_mapping_ids"),
    "sample missing from mapping": ({"sample_mapping": {"s1": 0, "s2": 1}}, "sample_names"),
}


@pytest.mark.parametrize(("overrides", "field"), CONSTRUCTOR_ERRORS.values(), ids=CONSTRUCTOR_ERRORS.keys())
def test_constructor_rejects_invalid_input(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as info:
        Screen(**screen_kwargs(**overrides))
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: expected")
    assert "\n" not in str(info.value)


REQUIRED = (
    "treatment_names",
    "treatment_doses",
    "sample_names",
    "plate_names",
    "observations",
    "observation_mask",
)


@pytest.mark.parametrize("name", REQUIRED)
def test_load_reports_a_missing_dataset(tmp_path: Path, name: str) -> None:
    path = tmp_path / "x.h5"
    write_batchie_layout(path, **{name: None})
    with pytest.raises(InputError, match=rf"^{path}: {name}: expected this dataset, found it missing$"):
        Screen.load_h5(path)


FILE_ERRORS = {
    "integer doses": ({"treatment_doses": np.array([[1, 0], [1, 1], [1, 0]])}, "treatment_doses"),
    "float observation_mask": ({"observation_mask": np.array([1.0, 0.0, 1.0])}, "observation_mask"),
    "numeric plate_names": ({"plate_names": np.array([1, 2, 1])}, "plate_names"),
    "short observations": ({"observations": np.array([0.2, 0.0])}, "observations"),
    "2-D sample_names": ({"sample_names": np.char.encode(np.array([["a"], ["b"], ["a"]]))}, "sample_names"),
    "half of a mapping": ({"treatment_mapping_ids": None}, "treatment_mapping_ids"),
    "mapping ids not 0..k-1": ({"treatment_mapping_ids": np.array([1, -1, 0, 5])}, "treatment_mapping_ids"),
    "float mapping ids": ({"sample_mapping_ids": np.array([1.0, 0.0])}, "sample_mapping_ids"),
    "duplicate mapping pair": (
        {
            "treatment_mapping_names": np.char.encode(np.array(["drug_B", "ctrl", "drug_A", "drug_A"])),
            "treatment_mapping_ids": np.array([1, -1, 0, 2]),
        },
        "treatment_mapping_names",
    ),
    "NaN observed": ({"observations": np.array([np.nan, 0.0, 0.4])}, "observations"),
    "mixed plate": ({"observation_mask": np.array([True, False, False])}, "observation_mask"),
}


@pytest.mark.parametrize(("replace", "field"), FILE_ERRORS.values(), ids=FILE_ERRORS.keys())
def test_load_names_file_and_field(tmp_path: Path, replace: dict[str, Any], field: str) -> None:
    path = tmp_path / "bad.h5"
    write_batchie_layout(path, **replace)
    with pytest.raises(InputError) as info:
        Screen.load_h5(path)
    assert (info.value.path, info.value.field) == (str(path), field)
    assert str(info.value).startswith(f"{path}: {field}: expected")


def test_load_rejects_a_non_hdf5_file(tmp_path: Path) -> None:
    path = tmp_path / "not.h5"
    path.write_text("plain text")
    with pytest.raises(InputError, match=rf"^{path}: file: expected a readable HDF5 file"):
        Screen.load_h5(path)
    with pytest.raises(
        InputError, match=rf"^{tmp_path}/none.h5: file: expected an existing HDF5 file, found none$"
    ):
        Screen.load_h5(tmp_path / "none.h5")


# --- subsets, plates, views ------------------------------------------------------------------------


def test_subset_keeps_mappings_and_reranks_plates() -> None:
    screen = Screen(**screen_kwargs())
    sub = screen.subset(np.array([False, False, True, True]))
    np.testing.assert_array_equal(sub.plate_names, ["p2", "p3"])
    np.testing.assert_array_equal(sub.plate_ids, [0, 1])
    np.testing.assert_array_equal(sub.treatment_ids, [[1, 2], [0, -1]])
    assert sub.experiment_space == screen.experiment_space
    assert sub.n_unique_treatments == 3  # ("b", 1.0) is gone from the rows, not from the universe
    reordered = screen.subset([3, 0])
    np.testing.assert_array_equal(reordered.sample_names, ["s3", "s2"])
    np.testing.assert_array_equal(reordered.plate_ids, [1, 0])
    np.testing.assert_array_equal(screen.subset_observed().observations, [0.5, 0.25, 1.0])
    np.testing.assert_array_equal(screen.subset_unobserved().plate_names, ["p2"])


def test_subset_round_trip_keeps_the_universe(tmp_path: Path) -> None:
    sub = Screen(**screen_kwargs()).subset([2])
    sub.save_h5(tmp_path / "sub.h5")
    loaded = Screen.load_h5(tmp_path / "sub.h5")
    assert_same_screen(sub, loaded)
    assert loaded.experiment_space.n_treatments == 4


def test_plates_and_get_plate() -> None:
    screen = Screen(**screen_kwargs())
    plates = screen.plates
    assert [(p.plate_id, p.plate_name, p.size, p.is_observed) for p in plates] == [
        (0, "p1", 2, True),
        (1, "p2", 1, False),
        (2, "p3", 1, True),
    ]
    plate = screen.get_plate(0)
    assert isinstance(plate, Plate) and isinstance(plate, ScreenSubset)
    np.testing.assert_array_equal(plate.row_indices, [0, 1])
    np.testing.assert_array_equal(plate.selection_vector, [True, True, False, False])
    np.testing.assert_array_equal(plate.treatment_ids, [[3, -1], [2, 3]])
    np.testing.assert_array_equal(plate.to_screen().plate_ids, [0, 0])
    with pytest.raises(InputError, match=r"plate_id: expected a plate id in 0\.\.2, found 3$"):
        screen.get_plate(3)
    np.testing.assert_array_equal(screen.observed_plate_ids, [0, 2])
    np.testing.assert_array_equal(screen.unobserved_plate_ids, [1])
    assert (screen.n_observed_plates, screen.n_unobserved_plates) == (2, 1)


def test_subset_views_combine_and_invert() -> None:
    screen = Screen(**screen_kwargs())
    union = screen.get_plate(2) + screen.get_plate(0)
    np.testing.assert_array_equal(union.row_indices, [0, 1, 3])
    np.testing.assert_array_equal(union.unique_plate_ids, [0, 2])
    np.testing.assert_array_equal((~union).row_indices, [2])
    view = screen.select(np.array([True, False, True, False]))
    assert (view.size, view.n_plates, view.n_unique_samples) == (2, 2, 2)
    np.testing.assert_array_equal(view.to_screen().plate_ids, [0, 1])


def test_set_observed_reveals_a_plate_in_place() -> None:
    screen = Screen(**screen_kwargs())
    before = screen.copy()
    view = screen.get_plate(1)
    screen.set_observed(np.arange(4) == 2, [0.125])
    assert screen.is_observed and view.is_observed
    np.testing.assert_array_equal(screen.observations, [0.5, 0.25, 0.125, 1.0])
    np.testing.assert_array_equal(before.observation_mask, [True, True, False, True])
    np.testing.assert_array_equal(before.observations, [0.5, 0.25, 0.75, 1.0])


def test_set_observed_rejects_part_of_a_plate_and_nan() -> None:
    screen = Screen(**screen_kwargs(observation_mask=[False, False, False, True]))
    with pytest.raises(InputError, match=r"observation_mask: expected each plate .* found plate 'p1' mixed$"):
        screen.set_observed([0])
    with pytest.raises(
        InputError, match="observations: expected finite values in observed rows, found nan in row 1"
    ):
        screen.set_observed([0, 1], [0.1, np.nan])
    np.testing.assert_array_equal(screen.observation_mask, [False, False, False, True])
    np.testing.assert_array_equal(screen.observations, [0.5, 0.25, 0.75, 1.0])
    assert screen.n_unobserved_plates == 2


def test_experiment_space_from_mappings() -> None:
    space = ExperimentSpace.from_mappings(
        {("d", 2.0): 1, ("d", 1.0): 0, ("c", 0.0): -1}, {"y": 0, "x": 1}, "c"
    )
    np.testing.assert_array_equal(space.treatment_names, ["c", "d", "d"])
    np.testing.assert_array_equal(space.treatment_ids, [-1, 0, 1])
    np.testing.assert_array_equal(space.sample_names, ["x", "y"])
    np.testing.assert_array_equal(space.encode_samples(np.array(["y", "x", "y"])), [0, 1, 0])
    assert (space.n_treatments, space.n_samples) == (2, 2)
    assert space == ExperimentSpace(["d", "c", "d"], [1.0, 0.0, 2.0], [0, -1, 1], ["y", "x"], [0, 1], "c")


# --- string encoding -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["U", "S"])
def test_unique_strings_equals_np_unique(kind: str) -> None:
    rng = np.random.default_rng(0)
    alphabet = np.array(list("abAB_0é"))
    words = np.array(["".join(rng.choice(alphabet, rng.integers(0, 6))) for _ in range(300)])
    values = words[rng.integers(0, words.size, 5_000)]
    if kind == "S":
        values = np.char.encode(values, "utf-8")
    distinct, inverse = unique_strings(values)
    expected, expected_inverse = np.unique(values, return_inverse=True)
    np.testing.assert_array_equal(distinct, expected)
    np.testing.assert_array_equal(inverse, expected_inverse)
    np.testing.assert_array_equal(distinct[inverse], values)


def test_unique_strings_survives_hash_collisions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        experiment_space, "_string_hash", lambda values: np.zeros(values.size, dtype=np.uint64)
    )
    distinct, inverse = unique_strings(np.array(["b", "a", "b", "c"]))
    np.testing.assert_array_equal(distinct, ["a", "b", "c"])
    np.testing.assert_array_equal(inverse, [1, 0, 1, 2])
    screen = Screen(**screen_kwargs())
    np.testing.assert_array_equal(screen.treatment_ids, [[3, -1], [2, 3], [1, 2], [0, -1]])
    np.testing.assert_array_equal(screen.plate_ids, [0, 0, 1, 2])
