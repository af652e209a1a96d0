"""The iteration/plate arithmetic of a retrospective run and its file paths (spec §3).

After prepare, U unobserved plates and batch size B give I = ceil(U / B) iterations; iteration i
has B_i = min(B, U − i·B) steps (i, j). Step (0, 0) trains on ``training.screen.h5``; iteration
i > 0 trains on the ``advanced_screen.h5`` of (i − 1, B − 1); step (i, j > 0) scores on the
``advanced_screen.h5`` of (i, j − 1). Pure functions of strings and ints, used by the Snakefile
and tested without Snakemake.
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


def screen_name(screen_path: str | os.PathLike[str]) -> str:
    """The step-directory name of an input screen: its basename minus the final ``.h5``."""
    base = os.path.basename(os.fspath(screen_path))
    if not base.endswith(".h5"):
        raise ValueError(f"batchie.screen: expected a path ending in .h5, found {base!r}")
    return base[: -len(".h5")]


def run_name(section: Mapping[str, Any]) -> str:
    """``batchie.run_name``, or ``<screen stem>-<sha256[:10] of the result-relevant config>``."""
    if section.get("run_name"):
        return str(section["run_name"])
    relevant = {k: v for k, v in section.items() if k not in HASH_EXCLUDED}
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


def step_files(root: str, iteration: int, plate: int, name: str, n_chains: int, n_chunks: int) -> list[str]:
    """Every file of step (i, j) (spec §3.2), ``training``/``test`` screens excluded."""
    d = step_dir(root, iteration, plate, name)
    files = [f"{d}/score_chunk_{k}.h5" for k in range(n_chunks)]
    files += [f"{d}/selected_plate", f"{d}/advanced_screen.h5", f"{d}/screen_metadata.json"]
    if plate == 0:
        files += [f"{d}/thetas_{c}.h5" for c in range(n_chains)]
        files += [f"{d}/distance_matrix_chunk_{k}.h5" for k in range(n_chunks)]
        files += [f"{d}/model_evaluation.h5", f"{d}/model_evaluation_analysis"]
    return files
