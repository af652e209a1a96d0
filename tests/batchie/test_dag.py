import pytest

from snakelab.batchie.dag import (
    batch_selections,
    ingested_screen,
    n_iterations,
    prospective_root,
    round_files,
    round_input,
    round_steps,
    run_name,
    screen_name,
    step_files,
    step_input,
    steps,
    training_input,
)
from snakelab.core.config_hash import config_hash

R = "results/batchie/run/pdbal/rep_0"


def test_demo_steps_u4_b3() -> None:
    assert n_iterations(4, 3) == 2
    assert steps(4, 3) == [(0, 0), (0, 1), (0, 2), (1, 0)]
    assert steps(6, 3) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert steps(99, 9)[-1] == (10, 8)
    assert len(steps(99, 9)) == 99


def test_zero_unobserved_plates_is_an_error() -> None:
    with pytest.raises(ValueError, match="U = 0"):
        steps(0, 3)


def test_inputs_chain_through_advanced_screens() -> None:
    assert (
        training_input(R, 0, "unmasked_screen", 3) == f"{R}/iter_0/plate_0/unmasked_screen/training.screen.h5"
    )
    assert training_input(R, 1, "s", 3) == f"{R}/iter_0/plate_2/s/advanced_screen.h5"
    assert step_input(R, 1, 0, "s", 3) == training_input(R, 1, "s", 3)
    assert step_input(R, 0, 2, "s", 3) == f"{R}/iter_0/plate_1/s/advanced_screen.h5"
    assert batch_selections(R, 0, 2, "s") == [f"{R}/iter_0/plate_{j}/s/selected_plate" for j in (0, 1)]
    assert batch_selections(R, 1, 0, "s") == []


def test_step_files_match_the_documented_tree() -> None:
    plate0 = {f.rsplit("/", 1)[1] for f in step_files(R, 1, 0, "s", n_chains=2, n_chunks=2)}
    assert plate0 == {
        "advanced_screen.h5",
        "distance_matrix_chunk_0.h5",
        "distance_matrix_chunk_1.h5",
        "model_evaluation.h5",
        "model_evaluation_analysis",
        "score_chunk_0.h5",
        "score_chunk_1.h5",
        "screen_metadata.json",
        "selected_plate",
        "thetas_0.h5",
        "thetas_1.h5",
    }
    later = {f.rsplit("/", 1)[1] for f in step_files(R, 0, 1, "s", n_chains=2, n_chunks=2)}
    assert later == {
        "advanced_screen.h5",
        "score_chunk_0.h5",
        "score_chunk_1.h5",
        "screen_metadata.json",
        "selected_plate",
    }


def test_run_name_hashes_only_result_relevant_keys() -> None:
    section = {
        "screen": "resources/batchie/merck_2016.screen.h5",
        "seed": 0,
        "replicates": 25,
        "resources": {"default": {"mem_mb": 1000}},
        "run_name": None,
    }
    name = run_name(section)
    assert name == "merck_2016-" + config_hash({"screen": section["screen"], "seed": 0})
    more = {**section, "replicates": 5, "resources": {}}
    assert run_name(more) == name
    assert run_name({**section, "seed": 1}) != name
    assert run_name({**section, "run_name": "screen-2026"}) == "screen-2026"
    assert screen_name("x/merck_2016.screen.h5") == "merck_2016.screen"
    with pytest.raises(ValueError, match=r"ending in \.h5"):
        screen_name("screen.hdf5")


def test_run_name_ignores_the_other_mode_and_the_growing_observations_list() -> None:
    arms = {"random": {"scorer": {"name": "RandomScorer", "params": {}}, "policy": None}}
    prospective = {"observations": [], "scorer": {"name": "GaussianDBALScorer", "params": {}}, "policy": None}
    retro = {"mode": "retrospective", "screen": "s.h5", "seed": 0, "arms": arms, "prospective": prospective}
    # retrospective: the prospective section is not hashed at all (names as before it existed)
    expected = "s-" + config_hash({"mode": "retrospective", "screen": "s.h5", "seed": 0, "arms": arms})
    assert run_name(retro) == expected
    assert run_name({**retro, "prospective": {**prospective, "policy": {"name": "K"}}}) == expected

    pro = {**retro, "mode": "prospective", "screen": "x/masked_screen.h5"}
    name = run_name(pro)
    hashed = {"mode": "prospective", "screen": "x/masked_screen.h5", "seed": 0}
    assert name == "masked_screen-" + config_hash(
        {**hashed, "prospective": {"scorer": prospective["scorer"], "policy": None}}
    )
    # one results table per finished round: same run directory
    assert run_name({**pro, "prospective": {**prospective, "observations": ["round_0.tsv"]}}) == name
    assert run_name({**pro, "arms": {}, "prepare": {"combo_filter": False}, "evaluation": {}}) == name
    assert run_name({**pro, "prospective": {**prospective, "policy": {"name": "K"}}}) != name
    assert run_name({**pro, "batch_size": 5}) != name


P = "results/batchie/run/prospective"


def test_prospective_rounds_chain_through_ingested_screens() -> None:
    assert prospective_root("run") == P
    assert round_input(P, 0, "resources/batchie/masked_screen.h5") == "resources/batchie/masked_screen.h5"
    assert round_input(P, 2, "ignored.h5") == f"{P}/iter_2/input.screen.h5" == ingested_screen(P, 2)
    with pytest.raises(ValueError, match="rounds >= 1"):
        ingested_screen(P, 0)
    assert [round_steps(u, 2) for u in (0, 1, 2, 4)] == [0, 1, 2, 2]


def test_round_files_of_the_masked_demo() -> None:
    d0, d1 = f"{P}/iter_0/plate_0/m", f"{P}/iter_0/plate_1/m"
    files = round_files(P, 0, "m", n_unobserved=4, batch_size=2, n_chains=2, n_chunks=2)
    assert sorted(files) == sorted(
        [f"{d}/{f}" for d in (d0, d1) for f in ("score_chunk_0.h5", "score_chunk_1.h5", "selected_plate")]
        + [f"{d}/screen_metadata.json" for d in (d0, d1)]
        + [f"{d0}/{f}" for f in ("thetas_0.h5", "thetas_1.h5", "model_evaluation.h5")]
        + [
            f"{d0}/model_evaluation_analysis",
            f"{d0}/distance_matrix_chunk_0.h5",
            f"{d0}/distance_matrix_chunk_1.h5",
        ]
        + [f"{P}/iter_0/next_batch.tsv", f"{P}/iter_0/next_batch_experiments.tsv"]
    )
    assert not any(f.endswith("advanced_screen.h5") for f in files)
    one = round_files(P, 1, "m", n_unobserved=1, batch_size=2, n_chains=1, n_chunks=1)
    assert f"{P}/iter_1/input.screen.h5" in one
    assert not any("/plate_1/" in f for f in one)
    # every plate observed: the round keeps its model, metadata and an empty batch
    done = round_files(P, 2, "m", n_unobserved=0, batch_size=2, n_chains=1, n_chunks=1)
    d = f"{P}/iter_2/plate_0/m"
    assert done == [
        f"{P}/iter_2/input.screen.h5",
        f"{d}/thetas_0.h5",
        f"{d}/model_evaluation.h5",
        f"{d}/model_evaluation_analysis",
        f"{d}/screen_metadata.json",
        f"{P}/iter_2/next_batch.tsv",
        f"{P}/iter_2/next_batch_experiments.tsv",
    ]
