"""Synthetic screens with a planted SparseDrugCombo truth (spec §10 "Synthetic")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from snakelab.batchie.data import Screen
from snakelab.batchie.models.gibbs import mean_logit
from snakelab.batchie.synthetic import make_synthetic, small_preset, write_synthetic
from snakelab.core.errors import InputError

TRUTH_KEYS = {"W", "W0", "V0", "V1", "V2", "alpha", "precision", "mu"}


@pytest.fixture(scope="module")
def default() -> tuple[Screen, dict[str, np.ndarray]]:
    return make_synthetic()


def _plates(screen: Screen) -> list[np.ndarray]:
    return [plate.row_indices for plate in screen.plates]


def test_default_sizes(default) -> None:
    screen, truth = default
    assert screen.size == 10_100 and screen.arity == 2 and screen.is_observed
    assert screen.n_plates == 100 and screen.control_treatment_name == "control"
    assert screen.experiment_space.n_samples == 20 and screen.experiment_space.n_treatments == 60
    assert truth["W"].shape == (20, 5) and truth["V1"].shape == (60, 5) and truth["V2"].shape == (60, 5)
    assert truth["W0"].shape == (20,) and truth["V0"].shape == (60,) and truth["mu"].shape == (10_100,)
    assert set(truth) == TRUTH_KEYS
    assert float(truth["alpha"]) == 0.5 and float(truth["precision"]) == 25.0
    ids = screen.treatment_ids
    # id = drug · 2 + dose index; controls (dose 0, name "control") are −1
    mapping = screen.treatment_mapping
    assert (
        mapping[("drug_00", 1.0)] == 0 and mapping[("drug_00", 2.0)] == 1 and mapping[("drug_29", 2.0)] == 59
    )
    assert mapping[("control", 0.0)] == -1
    plates_per_sample = {}
    for rows in _plates(screen):
        assert rows.size == 101
        assert len(set(screen.sample_names[rows])) == 1  # one-sample plates
        sample = screen.sample_ids[rows[0]]
        plates_per_sample[sample] = plates_per_sample.get(sample, 0) + 1
        combo = (ids[rows] >= 0).all(axis=1)
        assert combo.sum() == 91 and (~combo).sum() == 10
        pairs = {tuple(sorted(p)) for p in ids[rows][combo]}
        assert len(pairs) == 91  # distinct combinations
        assert all(a // 2 != b // 2 for a, b in pairs)  # cross-drug
        single = ids[rows][~combo]
        assert np.all(single[:, 1] == -1) and np.all(single[:, 0] >= 0)
        assert len(set(single[:, 0])) == 10  # distinct single drug-doses
    assert plates_per_sample == dict.fromkeys(range(20), 5)
    # combinations are drawn without replacement per sample: 455 distinct per sample
    for sample in range(20):
        rows = np.flatnonzero((screen.sample_ids == sample) & (ids >= 0).all(axis=1))
        assert rows.size == 455
        assert len({tuple(sorted(p)) for p in ids[rows]}) == 455
    # both slot orders occur
    combos = ids[(ids >= 0).all(axis=1)]
    assert 0.4 < np.mean(combos[:, 0] < combos[:, 1]) < 0.6


def test_truth_values(default) -> None:
    screen, truth = default
    v2 = truth["V2"]
    assert np.count_nonzero(v2 == 0) == 210  # round(0.7 · 60 · 5)
    assert np.mean(v2 == 0) == pytest.approx(0.7)
    for key in ("W", "W0", "V0", "V1"):
        assert 0.35 < truth[key].std() < 0.65, key
    assert 0.35 < v2[v2 != 0].std() < 0.65
    mu = mean_logit(
        truth["W"],
        truth["W0"],
        truth["V0"],
        truth["V1"],
        truth["V2"],
        0.5,
        screen.sample_ids,
        screen.treatment_ids,
    )
    np.testing.assert_allclose(truth["mu"], mu, rtol=0, atol=1e-12)
    for n in (0, 90, 91, 100, 5_555):  # brute force for a combination and single-drug rows
        c = screen.sample_ids[n]
        a, b = screen.treatment_ids[n]
        expected = 0.5 + truth["W0"][c] + truth["V0"][a] + truth["W"][c] @ truth["V1"][a]
        if b >= 0:
            expected += truth["V0"][b] + truth["W"][c] @ (truth["V1"][b] + truth["V2"][a] * truth["V2"][b])
        assert truth["mu"][n] == pytest.approx(expected, abs=1e-12)
    obs = screen.observations
    assert obs.min() >= 0.0 and obs.max() <= 1.0
    inside = (obs > 1e-12) & (obs < 1 - 1e-12)
    noise = np.log(obs[inside] / (1 - obs[inside])) - truth["mu"][inside]
    assert abs(noise.mean()) < 0.01
    assert 0.19 < noise.std() < 0.21  # 1/√λ = 0.2


def test_deterministic_and_seeded(default) -> None:
    screen, truth = default
    again, truth_again = make_synthetic()
    for field in ("treatment_ids", "sample_ids", "plate_ids", "observations"):
        np.testing.assert_array_equal(getattr(screen, field), getattr(again, field))
    for key in TRUTH_KEYS:
        np.testing.assert_array_equal(truth[key], truth_again[key])
    other, truth_other = make_synthetic(seed=1)
    assert not np.array_equal(other.treatment_ids, screen.treatment_ids)
    assert not np.array_equal(truth_other["W"], truth["W"])


def test_small_preset() -> None:
    preset = small_preset()
    assert preset == {
        "n_samples": 8,
        "n_drugs": 10,
        "n_doses": 2,
        "n_plates_per_sample": 5,
        "n_combo_wells": 50,
        "n_single_wells": 10,
        "d_true": 3,
    }
    screen, truth = make_synthetic(**preset)
    assert screen.size == 2400 and screen.n_plates == 40
    assert screen.experiment_space.n_treatments == 20 and screen.experiment_space.n_samples == 8
    assert truth["W"].shape == (8, 3)
    assert np.count_nonzero(truth["V2"] == 0) == 42  # round(0.7 · 20 · 3)
    for rows in _plates(screen):
        ids = screen.treatment_ids[rows]
        combo = (ids >= 0).all(axis=1)
        assert rows.size == 60 and combo.sum() == 50
        # 5 · 50 > 180 cross-drug pairs: distinct within each plate
        assert len({tuple(sorted(p)) for p in ids[combo]}) == 50


def test_invalid_sizes_name_the_field() -> None:
    with pytest.raises(InputError, match="n_combo_wells: expected at most 180"):
        make_synthetic(**{**small_preset(), "n_combo_wells": 181})
    with pytest.raises(InputError, match="n_single_wells: expected at most 20"):
        make_synthetic(**{**small_preset(), "n_single_wells": 21})
    with pytest.raises(InputError, match="d_true: expected an int >= 1"):
        make_synthetic(d_true=0)


def test_write_synthetic(tmp_path: Path) -> None:
    out, truth_path = write_synthetic(
        tmp_path / "syn.screen.h5", tmp_path / "truth.npz", **small_preset(), seed=4
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["syn.screen.h5", "truth.npz"]
    screen, truth = make_synthetic(**small_preset(), seed=4)
    loaded = Screen.load_h5(out)
    np.testing.assert_array_equal(loaded.treatment_ids, screen.treatment_ids)
    np.testing.assert_array_equal(loaded.observations, screen.observations)
    assert loaded.treatment_mapping == screen.treatment_mapping
    with np.load(truth_path) as stored:
        assert set(stored.files) == TRUTH_KEYS
        for key in TRUTH_KEYS:
            np.testing.assert_array_equal(stored[key], truth[key])
    # a truth path without the .npz suffix is written exactly there
    _, bare = write_synthetic(tmp_path / "b.screen.h5", tmp_path / "truth_bare", **small_preset())
    assert bare.exists() and not (tmp_path / "truth_bare.npz").exists()
