"""Prospective mode end to end (spec §3.6, §11.9): masked demo, batches of 2, two rounds.

Round 0 designs a batch on the masked demo screen (only plate_A observed); its experiments table is
filled, added to ``prospective.observations`` and the rerun ingests it and designs round 1 in the same
run directory, leaving round 0 untouched.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from snakelab.batchie.dag import round_files
from snakelab.batchie.data import Screen
from snakelab.batchie.models.evaluation import ModelEvaluation
from snakelab.batchie.scoring.main import ChunkedScoresHolder
from tests.harness import REPO

pytestmark = [pytest.mark.slow, pytest.mark.workflow]

EXAMPLE = REPO / "config" / "examples" / "batchie_prospective_demo.yaml"
NAME = "masked_screen"


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def write_config(workdir: Path, config: dict) -> None:
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def round_tree(root: Path, r: int, n_unobserved: int) -> set[str]:
    """Every file and directory below ``root/iter_<r>`` the round should hold, relative to ``root``."""
    files = round_files(str(root), r, NAME, n_unobserved, batch_size=2, n_chains=2, n_chunks=2)
    return {str(Path(f).relative_to(root)) for f in files}


def check_batch(root: Path, r: int, screen: Screen) -> list[int]:
    """Assert round r's tables against its step files; return the batch's plate ids in order."""
    batch = read_tsv(root / f"iter_{r}" / "next_batch.tsv")
    assert list(batch[0]) == ["order", "plate_id", "plate_name", "n_experiments", "score"]
    ids = [int(row["plate_id"]) for row in batch]
    assert [row["order"] for row in batch] == ["0", "1"]
    assert len(set(ids)) == 2
    assert set(ids) <= set(screen.unobserved_plate_ids.tolist())
    for j, row in enumerate(batch):
        step = root / f"iter_{r}" / f"plate_{j}" / NAME
        assert (step / "selected_plate").read_text() == str(ids[j])
        assert row["plate_name"] == f"plate_{'ABCDE'[ids[j]]}"
        assert row["n_experiments"] == "2"
        scores = ChunkedScoresHolder.concat(
            [ChunkedScoresHolder.load_h5(step / f"score_chunk_{k}.h5") for k in range(2)]
        )
        # the exported score is the step's score of the plate, exactly, and the step's minimum
        assert float(row["score"]) == scores.get_score(ids[j])
        assert scores.plate_id_with_minimum_score() == ids[j]
        # step j scored every unobserved plate outside the batch so far
        expected = sorted(set(screen.unobserved_plate_ids.tolist()) - set(ids[:j]))
        assert sorted(scores.plate_ids.tolist()) == expected
    experiments = read_tsv(root / f"iter_{r}" / "next_batch_experiments.tsv")
    assert [row["plate_name"] for row in experiments] == [batch[0]["plate_name"]] * 2 + [
        batch[1]["plate_name"]
    ] * 2
    assert {(row["treatment_name_1"], row["treatment_dose_1"]) for row in experiments} == {("drug_A", "1.0")}
    assert {(row["treatment_name_2"], row["treatment_dose_2"]) for row in experiments} == {("drug_B", "1.0")}
    assert [row["observation"] for row in experiments] == [""] * 4
    return ids


def tree(root: Path) -> set[str]:
    """Files below ``root`` and the analysis directories (not their content), relative to ``root``."""
    paths = {p for p in root.rglob("*") if p.is_file() and "model_evaluation_analysis" not in p.parts}
    paths |= set(root.rglob("model_evaluation_analysis"))
    return {str(p.relative_to(root)) for p in paths}


def metadata(root: Path, r: int, j: int) -> dict[str, int]:
    return json.loads((root / f"iter_{r}" / f"plate_{j}" / NAME / "screen_metadata.json").read_text())


def test_two_prospective_rounds_on_the_masked_demo(workflow) -> None:
    config = yaml.safe_load(EXAMPLE.read_text())
    wf = workflow()
    write_config(wf.workdir, config)
    wf.run()

    (run_dir,) = (wf.workdir / "results" / "batchie").iterdir()
    assert run_dir.name.startswith("masked_screen-")
    root = run_dir / "prospective"
    s0 = Screen.load_h5(wf.workdir / "resources" / "batchie" / "masked_screen.h5")
    assert tree(root) == round_tree(root, 0, 4)
    assert not list(root.rglob("advanced_screen.h5"))
    ids0 = check_batch(root, 0, s0)
    for j in (0, 1):  # nothing revealed: every step describes S_0
        assert metadata(root, 0, j) == {
            "n_unique_samples": 2,
            "n_unique_treatments": 2,
            "size": 12,
            "n_plates": 5,
            "n_unobserved_plates": 4,
            "n_observed_plates": 1,
        }
    evaluation = ModelEvaluation.load_h5(root / "iter_0" / "plate_0" / NAME / "model_evaluation.h5")
    np.testing.assert_array_equal(evaluation.observations, [0.1, 0.2, 0.1, 0.2])  # S_0's observed rows
    assert evaluation.predictions.shape == (4, 6)

    # the lab's results for round 0, in a copy outside results/
    values = ["0.15", "0.35", "0.55", "0.75"]
    lines = (root / "iter_0" / "next_batch_experiments.tsv").read_text().splitlines()
    table = wf.workdir / "observations" / "round_0.tsv"
    table.parent.mkdir()
    table.write_text(
        "\n".join([lines[0], *(f"{line}{v}" for line, v in zip(lines[1:], values, strict=True))]) + "\n"
    )
    round0 = {p: p.read_bytes() for p in (root / "iter_0").rglob("*") if p.is_file()}
    config["batchie"]["prospective"]["observations"] = ["observations/round_0.tsv"]
    write_config(wf.workdir, config)
    wf.run()

    assert [p.name for p in (wf.workdir / "results" / "batchie").iterdir()] == [run_dir.name]
    assert {p: p.read_bytes() for p in (root / "iter_0").rglob("*") if p.is_file()} == round0
    s1 = Screen.load_h5(root / "iter_1" / "input.screen.h5")
    np.testing.assert_array_equal(s1.observed_plate_ids, sorted([0, *ids0]))
    rows = np.concatenate([np.flatnonzero(s0.plate_ids == p) for p in ids0])
    np.testing.assert_array_equal(s1.observations[rows], [float(v) for v in values])
    others = np.setdiff1d(np.arange(12), rows)
    np.testing.assert_array_equal(s1.observations[others], s0.observations[others])
    np.testing.assert_array_equal(s1.observation_mask[others], s0.observation_mask[others])
    for field in ("treatment_ids", "sample_ids", "plate_ids", "plate_names", "treatment_doses"):
        np.testing.assert_array_equal(getattr(s1, field), getattr(s0, field))
    assert s1.treatment_mapping == s0.treatment_mapping
    assert s1.sample_mapping == s0.sample_mapping

    assert tree(root) == round_tree(root, 0, 4) | round_tree(root, 1, 2)
    ids1 = check_batch(root, 1, s1)
    assert sorted(ids1) == sorted({1, 2, 3, 4} - set(ids0))  # U_1 = 2 = B: the two plates left
    assert metadata(root, 1, 1)["n_unobserved_plates"] == 2
    assert metadata(root, 1, 1)["n_observed_plates"] == 3
    evaluation = ModelEvaluation.load_h5(root / "iter_1" / "plate_0" / NAME / "model_evaluation.h5")
    np.testing.assert_array_equal(evaluation.observations, s1.observations[s1.observation_mask])

    assert "Nothing to be done" in wf.run("--dry-run").output
