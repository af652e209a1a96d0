"""The iteration/plate arithmetic of a batchie run and its file paths (spec §3).

Retrospective (§3.3): after prepare, U unobserved plates and batch size B give I = ceil(U / B)
iterations; iteration i has B_i = min(B, U − i·B) steps (i, j). Step (0, 0) trains on
``training.screen.h5``; iteration i > 0 trains on the ``advanced_screen.h5`` of (i − 1, B − 1); step
(i, j > 0) scores on the ``advanced_screen.h5`` of (i, j − 1).

Prospective (§3.6): root ``P = results/batchie/{run}/prospective``; round r works on S_r (S_0 = the
input screen, S_{r+1} = ``P/iter_{r+1}/input.screen.h5``, the ingest of the r-th observations table)
and has B_r = min(B, U_r) steps, all scoring on S_r (nothing is revealed); the round ends with
``P/iter_{r}/next_batch.tsv`` and ``next_batch_experiments.tsv``.

Pure functions of strings and ints, used by the Snakefile and tested without Snakemake.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from snakelab.core.config_hash import config_hash

#: Config keys that do not change any result file, so they stay out of the run name: resources,
#: the run name itself and the number of replicates (replicate r gives the same files whatever the
#: count).
HASH_EXCLUDED = ("resources", "run_name", "replicates")

#: Keys a mode never reads, also left out of the run name. A prospective run keeps its name while
#: ``prospective.observations`` grows by one results table per round (round r's files depend only on
#: the first r tables, which are inputs of its rules).
MODE_UNUSED = {
    "retrospective": ("prospective",),
    "prospective": ("arms", "prepare", "evaluation"),
}


def screen_name(screen_path: str | os.PathLike[str]) -> str:
    """The step-directory name of an input screen: its basename minus the final ``.h5``."""
    base = os.path.basename(os.fspath(screen_path))
    if not base.endswith(".h5"):
        raise ValueError(f"batchie.screen: expected a path ending in .h5, found {base!r}")
    return base[: -len(".h5")]


def run_name(section: Mapping[str, Any]) -> str:
    """``batchie.run_name``, or ``<screen stem>-<sha256[:10] of the result-relevant config>``.

    Left out of the hash: :data:`HASH_EXCLUDED`, the keys the mode never reads (:data:`MODE_UNUSED`)
    and ``prospective.observations``.
    """
    if section.get("run_name"):
        return str(section["run_name"])
    unused = MODE_UNUSED.get(section.get("mode", "retrospective"), ())
    relevant = {k: v for k, v in section.items() if k not in HASH_EXCLUDED and k not in unused}
    if isinstance(relevant.get("prospective"), Mapping):
        relevant["prospective"] = {k: v for k, v in relevant["prospective"].items() if k != "observations"}
    stem = screen_name(section["screen"]).split(".")[0]
    return f"{stem}-{config_hash(relevant)}"


def n_iterations(n_unobserved: int, batch_size: int) -> int:
    """I = ceil(U / B); ``U = 0`` after prepare is an error."""
    if n_unobserved < 1:
        raise ValueError("after prepare the training screen has no unobserved plate to reveal (U = 0)")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return math.ceil(n_unobserved / batch_size)


def steps(n_unobserved: int, batch_size: int) -> list[tuple[int, int]]:
    """All steps (i, j) in order: iteration i has min(B, U − i·B) steps."""
    return [
        (i, j)
        for i in range(n_iterations(n_unobserved, batch_size))
        for j in range(min(batch_size, n_unobserved - i * batch_size))
    ]


def step_dir(root: str, iteration: int, plate: int, name: str) -> str:
    """``<root>/iter_<i>/plate_<j>/<name>``."""
    return f"{root}/iter_{iteration}/plate_{plate}/{name}"


def training_input(root: str, iteration: int, name: str, batch_size: int) -> str:
    """S_in(i): the screen iteration i trains on."""
    if iteration == 0:
        return f"{step_dir(root, 0, 0, name)}/training.screen.h5"
    return f"{step_dir(root, iteration - 1, batch_size - 1, name)}/advanced_screen.h5"


def step_input(root: str, iteration: int, plate: int, name: str, batch_size: int) -> str:
    """S_step(i, j): the screen step (i, j) scores and reveals on."""
    if plate == 0:
        return training_input(root, iteration, name, batch_size)
    return f"{step_dir(root, iteration, plate - 1, name)}/advanced_screen.h5"


def batch_selections(root: str, iteration: int, plate: int, name: str) -> list[str]:
    """The ``selected_plate`` files of (i, 0..j−1): the plates already in this iteration's batch."""
    return [f"{step_dir(root, iteration, j, name)}/selected_plate" for j in range(plate)]


def step_files(
    root: str, iteration: int, plate: int, name: str, n_chains: int, n_chunks: int, revealed: bool = True
) -> list[str]:
    """Every file of step (i, j) (spec §3.2), ``training``/``test`` screens excluded.

    ``revealed=False`` (prospective rounds): without ``advanced_screen.h5``.
    """
    d = step_dir(root, iteration, plate, name)
    files = [f"{d}/score_chunk_{k}.h5" for k in range(n_chunks)]
    files += [f"{d}/selected_plate", f"{d}/screen_metadata.json"]
    if revealed:
        files.append(f"{d}/advanced_screen.h5")
    if plate == 0:
        files += model_files(root, iteration, name, n_chains)
        files += [f"{d}/distance_matrix_chunk_{k}.h5" for k in range(n_chunks)]
    return files


def model_files(root: str, iteration: int, name: str, n_chains: int) -> list[str]:
    """The thetas of every chain and the model evaluation of iteration i (in its ``plate_0``)."""
    d = step_dir(root, iteration, 0, name)
    files = [f"{d}/thetas_{c}.h5" for c in range(n_chains)]
    return [*files, f"{d}/model_evaluation.h5", f"{d}/model_evaluation_analysis"]


def prospective_root(run: str) -> str:
    """``results/batchie/<run>/prospective``."""
    return f"results/batchie/{run}/prospective"


def ingested_screen(root: str, iteration: int) -> str:
    """``<root>/iter_<r>/input.screen.h5``: S_r for r ≥ 1, the ingest of observations table r − 1."""
    if iteration < 1:
        raise ValueError(f"only rounds >= 1 have an ingested screen, got {iteration}")
    return f"{root}/iter_{iteration}/input.screen.h5"


def round_input(root: str, iteration: int, screen: str) -> str:
    """S_r: the input ``screen`` for r = 0, else :func:`ingested_screen`."""
    if iteration < 0:
        raise ValueError(f"round must be >= 0, got {iteration}")
    return screen if iteration == 0 else ingested_screen(root, iteration)


def round_steps(n_unobserved: int, batch_size: int) -> int:
    """B_r = min(B, U_r): the steps (plates chosen) of a prospective round."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return max(0, min(batch_size, n_unobserved))


def batch_files(root: str, iteration: int) -> list[str]:
    """``next_batch.tsv`` and ``next_batch_experiments.tsv`` of round r."""
    return [f"{root}/iter_{iteration}/next_batch.tsv", f"{root}/iter_{iteration}/next_batch_experiments.tsv"]


def round_files(
    root: str, iteration: int, name: str, n_unobserved: int, batch_size: int, n_chains: int, n_chunks: int
) -> list[str]:
    """Every file of prospective round r: its steps (no ``advanced_screen.h5``), its batch tables, and
    for r > 0 its input screen. A round without unobserved plates (U_r = 0) keeps the model files and
    ``plate_0``'s ``screen_metadata.json``, and exports an empty batch."""
    steps_ = round_steps(n_unobserved, batch_size)
    files = [] if iteration == 0 else [ingested_screen(root, iteration)]
    for j in range(steps_):
        files += step_files(root, iteration, j, name, n_chains, n_chunks, revealed=False)
    if steps_ == 0:
        files += model_files(root, iteration, name, n_chains)
        files.append(f"{step_dir(root, iteration, 0, name)}/screen_metadata.json")
    return files + batch_files(root, iteration)
