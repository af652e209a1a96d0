"""Retrospective prepare (spec §7, §3.5 seed rule, §10 demo outcome, §11.6)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from snakelab.batchie.data import Screen
from snakelab.batchie.demo import demo_screens, make_demo
from snakelab.batchie.io import count_unobserved_plates
from snakelab.batchie.prepare.combo_filter import combo_filter
from snakelab.batchie.prepare.holdout import holdout
from snakelab.batchie.prepare.initial_plates import SparseCoverPlateGenerator
from snakelab.batchie.prepare.pipeline import prepare_rng, prepare_screen, reveal_random_plate, run_prepare
from snakelab.batchie.prepare.plate_generators import (
    PairwisePlateGenerator,
    PlatePermutationPlateGenerator,
    SampleSegregatingPermutationPlateGenerator,
)
from snakelab.batchie.prepare.rebuild import rebuild
from snakelab.batchie.prepare.smoothers import BatchieEnsemblePlateSmoother, OptimalSizeSmoother
from snakelab.core.errors import InputError
from tests.batchie.test_plate_generators import make_screen, random_screen

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


def assert_same(a: Screen, b: Screen) -> None:
    for field in ROW_FIELDS:
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    assert a.experiment_space == b.experiment_space


# --- seed rule (§3.5) ------------------------------------------------------------------------------


def test_prepare_rng_is_seed_plus_rep_through_generate_state() -> None:
    want = np.random.default_rng(np.random.SeedSequence(5).generate_state(1)[0]).random(4)
    np.testing.assert_array_equal(prepare_rng(3, 2).random(4), want)
    np.testing.assert_array_equal(prepare_rng(5, 0).random(4), want)
    assert np.random.SeedSequence(0).generate_state(1)[0] == 2968811710
    with pytest.raises(InputError) as info:
        prepare_rng(-1, 0)
    assert info.value.field == "seed"
    with pytest.raises(InputError) as info:
        prepare_rng(0, 1.0)  # type: ignore[arg-type]
    assert info.value.field == "rep"


# --- the demo (§10) --------------------------------------------------------------------------------

# demo rows 0..11: plate_A 0-3 (0.1 0.2 0.1 0.2), B 4-5 (0.3 0.4), C 6-7, D 8-9, E 10-11 (0.5 .. 1.0).
# seed 0: rng.permutation of the 12 plate names gives D D C E E C A B A B A A by row; rng.choice over
# plate ids [0..4] reveals 1 (plate_B = rows 7, 9); holdout draws one row of A (rows 6 8 10 11) -> 10,
# C (2 5) -> 5, D (0 1) -> 0, E (3 4) -> 4.
TRAINING_NAMES = ["plate_D", "plate_C", "plate_E", "plate_A", "plate_B", "plate_A", "plate_B", "plate_A"]
TRAINING_OBSERVATIONS = [0.2, 0.1, 0.2, 0.5, 0.6, 0.7, 0.8, 1.0]
TEST_NAMES = ["plate_D", "plate_E", "plate_C", "plate_A"]
TEST_OBSERVATIONS = [0.1, 0.3, 0.4, 0.9]


def demo_prepare(seed: int = 0, rep: int = 0) -> tuple[Screen, Screen]:
    unmasked, _ = demo_screens()
    return prepare_screen(unmasked, prepare_rng(seed, rep), plate_generator=PlatePermutationPlateGenerator())


def test_demo_outcome_seed_0() -> None:
    training, test = demo_prepare()
    assert (training.size, test.size) == (8, 4)
    assert training.plate_names.tolist() == TRAINING_NAMES
    np.testing.assert_array_equal(training.observations, TRAINING_OBSERVATIONS)
    np.testing.assert_array_equal(training.plate_ids, [3, 2, 4, 0, 1, 0, 1, 0])
    np.testing.assert_array_equal(training.observation_mask, [False] * 4 + [True, False, True, False])
    np.testing.assert_array_equal(training.observed_plate_ids, [1])  # plate_B revealed
    np.testing.assert_array_equal(training.unobserved_plate_ids, [0, 2, 3, 4])
    assert training.n_unobserved_plates == 4
    assert test.plate_names.tolist() == TEST_NAMES  # one row from each plate other than plate_B
    np.testing.assert_array_equal(test.observations, TEST_OBSERVATIONS)
    assert test.is_observed
    np.testing.assert_array_equal(test.treatment_ids, [[0, -1], [0, 1], [0, 1], [0, 1]])
    np.testing.assert_array_equal(test.sample_ids, [0, 0, 0, 1])


def test_demo_outcome_replayed_with_numpy() -> None:
    unmasked, _ = demo_screens()
    rng = np.random.default_rng(np.random.SeedSequence(0).generate_state(1)[0])
    names = rng.permutation(unmasked.plate_names)
    ids = np.unique(names, return_inverse=True)[1]
    revealed = rng.choice(np.arange(5))
    held = [rng.choice(np.flatnonzero(ids == p), 1, replace=False)[0] for p in range(5) if p != revealed]
    assert revealed == 1
    training, test = demo_prepare()
    np.testing.assert_array_equal(test.observations, unmasked.observations[np.sort(held)])
    keep = np.setdiff1d(np.arange(12), held)
    assert training.plate_names.tolist() == names[keep].tolist()


def test_same_seed_same_arrays_and_rep_changes_the_draw() -> None:
    a_train, a_test = demo_prepare()
    b_train, b_test = demo_prepare()
    assert_same(a_train, b_train)
    assert_same(a_test, b_test)
    c_train, c_test = demo_prepare(rep=1)
    np.testing.assert_array_equal(c_train.observed_plate_ids, [4])  # rep 1 reveals plate_E
    np.testing.assert_array_equal(c_test.observations, [0.1, 0.2, 0.3, 0.5])
    d_train, d_test = demo_prepare(seed=1, rep=0)  # seed + rep: the same stream as (0, 1)
    assert_same(c_train, d_train)
    assert_same(c_test, d_test)


def test_mappings_equal_across_input_training_and_test() -> None:
    unmasked, _ = demo_screens()
    training, test = demo_prepare()
    assert training.treatment_mapping == test.treatment_mapping == unmasked.treatment_mapping
    assert training.sample_mapping == test.sample_mapping == unmasked.sample_mapping
    assert training.experiment_space == test.experiment_space == unmasked.experiment_space


def test_without_plate_generator_reveals_among_the_input_plates() -> None:
    unmasked, _ = demo_screens()
    training, test = prepare_screen(unmasked, prepare_rng(0, 0))
    rng = prepare_rng(0, 0)
    assert rng.choice(np.arange(5)) == 3
    np.testing.assert_array_equal(training.observed_plate_ids, [3])  # plate_D
    assert (training.size, test.size, training.n_unobserved_plates) == (8, 4, 4)
    assert test.plate_names.tolist() == ["plate_A", "plate_B", "plate_C", "plate_E"]


# --- files (run_prepare) ---------------------------------------------------------------------------


def test_run_prepare_writes_both_screens(tmp_path: Path) -> None:
    unmasked_path, _ = make_demo(tmp_path / "in")
    out = tmp_path / "iter_0" / "plate_0" / "unmasked_screen"
    training, test = run_prepare(
        unmasked_path,
        out / "training.screen.h5",
        out / "test.screen.h5",
        plate_generator=PlatePermutationPlateGenerator(),
    )
    assert sorted(p.name for p in out.iterdir()) == ["test.screen.h5", "training.screen.h5"]
    assert_same(Screen.load_h5(out / "training.screen.h5"), training)
    assert_same(Screen.load_h5(out / "test.screen.h5"), test)
    assert training.plate_names.tolist() == TRAINING_NAMES
    assert count_unobserved_plates(out / "training.screen.h5") == 4
    first = (out / "training.screen.h5").read_bytes(), (out / "test.screen.h5").read_bytes()
    run_prepare(
        unmasked_path,
        out / "training.screen.h5",
        out / "test.screen.h5",
        plate_generator=PlatePermutationPlateGenerator(),
    )
    assert ((out / "training.screen.h5").read_bytes(), (out / "test.screen.h5").read_bytes()) == first


def test_no_unobserved_plate_left_is_an_input_error_naming_the_file(tmp_path: Path) -> None:
    one_plate = make_screen([("s0", "only", "A", "B"), ("s0", "only", "A", "B")])
    data = tmp_path / "one_plate.screen.h5"
    rebuild(one_plate, np.arange(2), observation_mask=np.ones(2, dtype=bool)).save_h5(data)
    with pytest.raises(InputError) as info:
        run_prepare(data, tmp_path / "training.screen.h5", tmp_path / "test.screen.h5")
    assert info.value.path == str(data)
    assert "unobserved plate" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one_plate.screen.h5"]


def test_nothing_written_when_the_second_file_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unmasked_path, _ = make_demo(tmp_path / "in")
    real_save = Screen.save_h5
    calls: list[str] = []

    def failing_save(self: Screen, path: object) -> None:
        calls.append(str(path))
        if len(calls) == 2:
            raise OSError("disk full")
        real_save(self, path)  # type: ignore[arg-type]

    monkeypatch.setattr(Screen, "save_h5", failing_save)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="disk full"):
        run_prepare(unmasked_path, out / "training.screen.h5", out / "test.screen.h5")
    assert len(calls) == 2
    assert list(out.iterdir()) == []


def test_same_output_paths_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        run_prepare(tmp_path / "x.h5", tmp_path / "a.h5", tmp_path / "a.h5")
    assert info.value.field == "test_output"


def test_screen_errors_name_the_data_file(tmp_path: Path) -> None:
    mixed = make_screen([("s0", "p", "A", "B"), ("s1", "p", "A", "B"), ("s0", "q", "A", "B")])
    data = tmp_path / "mixed.screen.h5"
    mixed.save_h5(data)
    with pytest.raises(InputError) as info:
        run_prepare(
            data,
            tmp_path / "training.screen.h5",
            tmp_path / "test.screen.h5",
            plate_smoother=BatchieEnsemblePlateSmoother(),
        )
    assert (info.value.path, info.value.field) == (str(data), "plate_names")


# --- combination filter (step 1) -------------------------------------------------------------------


def test_combo_filter_drops_single_drugs_never_combined_and_rederives_ids() -> None:
    rows = [
        ("s0", "p", "A", "B"),  # kept: combination
        ("s0", "p", "A", "-"),  # kept: A occurs in a combination
        ("s0", "p", "D", "-"),  # dropped: D only as single drug
        ("s1", "p", "B", "C"),  # kept
        ("s1", "p", "-", "-"),  # kept: all controls
        ("s1", "p", "A2", "-"),  # dropped: (A2, 1.0) never combined
        ("s2", "p", "D", "-"),  # dropped: the only row of s2
    ]
    screen = make_screen(rows)
    assert screen.treatment_mapping[("D", 1.0)] == 4  # A 0, A2 1, B 2, C 3, D 4
    out = combo_filter(screen)
    np.testing.assert_array_equal(out.observations, screen.observations[[0, 1, 3, 4]])
    np.testing.assert_array_equal(out.treatment_ids, [[0, 1], [0, -1], [1, 2], [-1, -1]])
    assert {k: v for k, v in out.treatment_mapping.items() if v >= 0} == {
        ("A", 1.0): 0,
        ("B", 1.0): 1,
        ("C", 1.0): 2,
    }
    assert out.sample_mapping == {"s0": 0, "s1": 1}
    np.testing.assert_array_equal(out.observation_mask, screen.observation_mask[[0, 1, 3, 4]])


def test_combo_filter_on_and_off_in_prepare() -> None:
    rows = [(f"s{i % 2}", f"p{i}", "A", "B") for i in range(6)] + [("s0", "p9", "D", "-")]
    screen = rebuild(make_screen(rows), np.arange(7), observation_mask=np.ones(7, dtype=bool))
    on_train, on_test = prepare_screen(screen, prepare_rng(0, 0))
    assert on_train.size + on_test.size == 6
    assert ("D", 1.0) not in on_train.treatment_mapping
    off_train, off_test = prepare_screen(screen, prepare_rng(0, 0), combo_filter=False)
    assert off_train.size + off_test.size == 7
    assert off_train.experiment_space == off_test.experiment_space == screen.experiment_space


# --- step order with every component ---------------------------------------------------------------


def observed_screen(seed: int) -> Screen:
    screen = random_screen(np.random.default_rng(seed), 400, 4, 12, 0.2)
    return rebuild(screen, np.arange(screen.size), observation_mask=np.ones(screen.size, dtype=bool))


@pytest.mark.parametrize("seed", range(3))
def test_prepare_draws_in_the_spec_order_with_an_initial_generator(seed: int) -> None:
    screen = observed_screen(seed)
    initial = SparseCoverPlateGenerator()
    generator = SampleSegregatingPermutationPlateGenerator(max_plate_size=30)
    smoother = OptimalSizeSmoother()
    training, test = prepare_screen(
        screen,
        prepare_rng(seed, 0),
        initial_plate_generator=initial,
        plate_generator=generator,
        plate_smoother=smoother,
    )
    rng = prepare_rng(seed, 0)
    step = initial.generate(combo_filter(screen), rng)
    step = generator.generate(step, rng)
    step = smoother.smooth(step, rng)
    want_training, want_test = holdout(step, 0.1, rng)
    assert_same(training, want_training)
    assert_same(test, want_test)
    assert training.plate_names[training.observation_mask].tolist() == ["initial_plate"] * int(
        training.observation_mask.sum()
    )


@pytest.mark.parametrize("seed", range(3))
def test_prepare_draws_in_the_spec_order_without_an_initial_generator(seed: int) -> None:
    screen = observed_screen(seed)
    generator = SampleSegregatingPermutationPlateGenerator(max_plate_size=30)
    smoother = OptimalSizeSmoother()
    training, test = prepare_screen(
        screen, prepare_rng(seed, 0), plate_generator=generator, plate_smoother=smoother
    )
    rng = prepare_rng(seed, 0)
    step = combo_filter(screen)
    step = rebuild(step, np.arange(step.size), observation_mask=np.zeros(step.size, dtype=bool))
    step = generator.generate(step, rng)
    reveal_random_plate(step, rng)
    step = smoother.smooth(step, rng)
    want_training, want_test = holdout(step, 0.1, rng)
    assert_same(training, want_training)
    assert_same(test, want_test)


def test_paper_settings_keep_input_rows_and_cover_every_treatment() -> None:
    screen = observed_screen(7)
    filtered = combo_filter(screen)
    training, test = prepare_screen(
        screen,
        prepare_rng(0, 0),
        initial_plate_generator=SparseCoverPlateGenerator(),
        plate_generator=PairwisePlateGenerator(subset_size=3, anchor_size=0),
        plate_smoother=BatchieEnsemblePlateSmoother(min_size=10, n_iterations=1, min_n_cell_line_plates=2),
    )
    initial = training.observation_mask
    assert set(training.plate_names[initial].tolist()) == {"initial_plate"}
    np.testing.assert_array_equal(
        np.unique(training.treatment_ids[initial]), np.unique(filtered.treatment_ids)
    )
    # every output row is a distinct input row (observations are distinct), nothing invented
    both = np.concatenate([training.observations, test.observations])
    assert np.unique(both).size == both.size
    assert np.isin(both, filtered.observations).all()
    assert test.is_observed and training.n_unobserved_plates > 0
    unobserved = training.subset_unobserved()
    per_plate = [
        np.unique(unobserved.sample_ids[unobserved.plate_ids == p]).size for p in range(unobserved.n_plates)
    ]
    assert set(per_plate) == {1}
    # OptimalSize left plates of one size s; each then lost ceil(0.1 s) rows to the test screen
    assert np.unique(np.bincount(unobserved.plate_ids)).size == 1


# --- the reference itself (§11.6), only where BATCHIE is installed ---------------------------------


def test_prepare_equals_batchie_array_for_array(tmp_path: Path) -> None:
    pytest.importorskip("batchie")
    command = shutil.which("prepare_retrospective_simulation")
    if command is None:
        pytest.skip("BATCHIE's prepare_retrospective_simulation command is not on PATH")
    data, _ = make_demo(tmp_path / "in")
    ref = tmp_path / "ref"
    ref.mkdir()
    subprocess.run(
        [
            command,
            "--data",
            str(data),
            "--training-output",
            str(ref / "training.screen.h5"),
            "--test-output",
            str(ref / "test.screen.h5"),
            "--plate-generator",
            "PlatePermutationPlateGenerator",
            "--seed",
            "0",
        ],
        check=True,
    )
    run_prepare(
        data,
        tmp_path / "training.screen.h5",
        tmp_path / "test.screen.h5",
        plate_generator=PlatePermutationPlateGenerator(),
    )
    for name in ("training.screen.h5", "test.screen.h5"):
        ours, theirs = Screen.load_h5(tmp_path / name), Screen.load_h5(ref / name)
        assert_same(ours, theirs)
        with h5py.File(ref / name) as f:
            np.testing.assert_array_equal(f["observations"][()], ours.observations)
