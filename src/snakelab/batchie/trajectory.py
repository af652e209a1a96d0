"""The trajectory of retrospective runs: one row per step of every arm × replicate (spec §3.1).

Reads a run's tree (``<run>/<arm>/rep_<rep>/iter_<i>/plate_<j>/<name>/``) without Snakemake:
``selected_plate``, ``screen_metadata.json``, the iteration's ``model_evaluation.h5`` and the
plate names and observed counts of the screens. Plotting is in stages/summarize.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import h5py
import numpy as np

from snakelab.batchie.experiment_space import decode_utf8, unique_strings
from snakelab.batchie.models.evaluation import ModelEvaluation
from snakelab.core.errors import InputError

_REP = re.compile(r"^rep_(\d+)$")
_ITER = re.compile(r"^iter_(\d+)$")
_PLATE = re.compile(r"^plate_(\d+)$")


@dataclass(frozen=True)
class Step:
    """One row of ``trajectory.tsv``; the evaluation columns are those of the iteration's model."""

    arm: str
    rep: int
    iter: int
    plate: int
    selected_plate: int
    plate_name: str
    n_observed_plates: int
    n_observed_experiments: int
    mse: float
    mse_variance: float
    inter_chain_mse_variance: float
    n_training_plates: int


#: Columns of ``trajectory.tsv`` (spec §3.1); ``n_training_plates`` goes to ``mse_summary.tsv`` only.
COLUMNS = [f.name for f in fields(Step) if f.name != "n_training_plates"]


def _numbered(directory: Path, pattern: re.Pattern[str]) -> list[tuple[int, Path]]:
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := pattern.match(p.name))]
    return sorted(found)


def _plate_names_and_observed(path: Path) -> tuple[np.ndarray, int]:
    """(sorted distinct plate names, observed experiments) of a screen file; ids are name ranks."""
    with h5py.File(path, "r") as f:
        names = f["plate_names"][()]
        mask = f["observation_mask"][()]
    return decode_utf8(unique_strings(names)[0]), int(mask.sum())


def _only_child(directory: Path) -> Path:
    children = [p for p in directory.iterdir() if p.is_dir()]
    if len(children) != 1:
        raise InputError(directory, "screen directory", f"expected exactly one, found {len(children)}")
    return children[0]


def read_replicate(root: str | Path) -> list[Step]:
    """All steps of ``<run>/<arm>/rep_<rep>`` in (iter, plate) order.

    ``n_training_plates`` of iteration i is the number of observed plates the model of that
    iteration was trained on: the observed plates after step (i, 0) less the plate it revealed.
    """
    root = Path(root)
    match = _REP.match(root.name)
    if not match:
        raise InputError(root, "directory", "expected a path ending in <arm>/rep_<n>")
    arm, rep = root.parent.name, int(match.group(1))
    steps: list[Step] = []
    for i, iter_dir in _numbered(root, _ITER):
        evaluation = ModelEvaluation.load_h5(_only_child(iter_dir / "plate_0") / "model_evaluation.h5")
        n_training = 0
        for j, plate_dir in _numbered(iter_dir, _PLATE):
            step = _only_child(plate_dir)
            selected = int((step / "selected_plate").read_text())
            names, n_observed_experiments = _plate_names_and_observed(step / "advanced_screen.h5")
            n_observed_plates = int(
                json.loads((step / "screen_metadata.json").read_text())["n_observed_plates"]
            )
            if j == 0:
                n_training = n_observed_plates - (selected >= 0)
            steps.append(
                Step(
                    arm=arm,
                    rep=rep,
                    iter=i,
                    plate=j,
                    selected_plate=selected,
                    plate_name=str(names[selected]) if selected >= 0 else "",
                    n_observed_plates=n_observed_plates,
                    n_observed_experiments=n_observed_experiments,
                    mse=evaluation.mse(),
                    mse_variance=evaluation.mse_variance(),
                    inter_chain_mse_variance=evaluation.inter_chain_mse_variance(),
                    n_training_plates=n_training,
                )
            )
    return steps


def trajectory_tsv(steps: list[Step]) -> str:
    """``trajectory.tsv`` text: a header of :data:`COLUMNS`, one line per step, floats with repr."""
    lines = ["\t".join(COLUMNS)]
    for step in steps:
        row = asdict(step)
        lines.append("\t".join(repr(row[c]) if isinstance(row[c], float) else str(row[c]) for c in COLUMNS))
    return "\n".join(lines) + "\n"


def selections(steps: list[Step]) -> dict[str, dict[str, list[int]]]:
    """``selections.json``: arm → replicate → selected plate ids in step order."""
    out: dict[str, dict[str, list[int]]] = {}
    for step in steps:
        out.setdefault(step.arm, {}).setdefault(str(step.rep), []).append(step.selected_plate)
    return out


def mse_summary(steps: list[Step]) -> list[dict[str, float | int | str]]:
    """Per arm and iteration: training plates, MSE mean and sample sd over replicates, replicates.

    One entry per (arm, iter); the sd is NaN with a single replicate.
    """
    first = [s for s in steps if s.plate == 0]
    rows = []
    for arm in sorted({s.arm for s in first}):
        for i in sorted({s.iter for s in first if s.arm == arm}):
            group = [s for s in first if s.arm == arm and s.iter == i]
            mse = np.array([s.mse for s in group])
            rows.append(
                {
                    "arm": arm,
                    "iter": i,
                    "n_training_plates": float(np.mean([s.n_training_plates for s in group])),
                    "mse_mean": float(mse.mean()),
                    "mse_sd": float(mse.std(ddof=1)) if mse.size > 1 else float("nan"),
                    "n_replicates": int(mse.size),
                }
            )
    return rows
