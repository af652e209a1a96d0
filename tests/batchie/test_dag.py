import pytest

from snakelab.batchie.dag import (
    batch_selections,
    n_iterations,
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
