"""Bad input to the batchie CLI stages (spec §11.10): one line naming file, field and expectation,
exit status 2, and no output file left behind."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from snakelab.batchie.demo import make_demo
from tests.harness import BIN, tool_env


def snakelab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "snakelab"), "batchie", *args], cwd=cwd, env=tool_env(), capture_output=True, text=True
    )


def _replace(name: str, value: np.ndarray) -> Callable[[h5py.File], None]:
    def edit(f: h5py.File) -> None:
        del f[name]
        f.create_dataset(name, data=value)

    return edit


def _delete(name: str) -> Callable[[h5py.File], None]:
    def edit(f: h5py.File) -> None:
        del f[name]

    return edit


def _mixed_plate(f: h5py.File) -> None:
    mask = f["observation_mask"][()]
    mask[5] = False
    _replace("observation_mask", mask)(f)


def _nan_observation(f: h5py.File) -> None:
    obs = f["observations"][()]
    obs[4] = np.nan
    _replace("observations", obs)(f)


BAD_SCREENS = {
    "mixed plate": (_mixed_plate, "observation_mask", "all-observed or all-unobserved"),
    "NaN observation": (_nan_observation, "observations", "finite"),
    "wrong arity": (
        _replace("treatment_names", np.array([[b"drug_A", b"drug_B", b"control"]] * 12)),
        "treatment_names",
        "shape",
    ),
    "missing dataset": (_delete("observation_mask"), "observation_mask", "missing"),
    "wrong dtype": (_replace("observations", np.arange(12)), "observations", "float"),
}


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    make_demo(tmp_path)
    return tmp_path


@pytest.mark.parametrize("case", sorted(BAD_SCREENS))
@pytest.mark.parametrize("stage", ["prepare", "metadata", "reveal"])
def test_malformed_screens_fail_in_one_line(demo: Path, case: str, stage: str) -> None:
    edit, field, expected = BAD_SCREENS[case]
    shutil.copy(demo / "unmasked_screen.h5", demo / "bad.h5")
    with h5py.File(demo / "bad.h5", "r+") as f:
        edit(f)
    args = {
        "prepare": ["prepare", "--data", "bad.h5", "--training-output", "out.h5", "--test-output", "out2.h5"],
        "metadata": ["metadata", "--screen", "bad.h5", "--output", "out.json"],
        "reveal": ["reveal", "--screen", "bad.h5", "--plate-id", "1", "--output", "out.h5"],
    }[stage]
    before = sorted(p.name for p in demo.iterdir())
    proc = snakelab(*args, cwd=demo)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: bad.h5: "), lines[0]
    assert field in lines[0] and expected in lines[0], lines[0]
    assert sorted(p.name for p in demo.iterdir()) == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["reveal", "--screen", "unmasked_screen.h5", "--plate-id", "9", "--output", "out.h5"],
            "plate",
        ),
        (
            [
                "prepare",
                "--data",
                "unmasked_screen.h5",
                "--training-output",
                "out.h5",
                "--test-output",
                "t.h5",
                "--plate-generator",
                "PlatePermutationPlateGenerator",
                "--plate-generator-param",
                "seed=3",
            ],
            "error: --plate-generator-param: PlatePermutationPlateGenerator has no parameter 'seed'",
        ),
        (
            [
                "train",
                "--data",
                "unmasked_screen.h5",
                "--output",
                "out.h5",
                "--model-param",
                "n_embedding_dims=2",
            ],
            "n_embedding_dims",
        ),
        (
            ["train", "--data", "unmasked_screen.h5", "--output", "out.h5", "--model-param", "a0=soon"],
            "error: --model-param a0: expected a float, found 'soon'",
        ),
    ],
)
def test_unknown_plate_and_parameters_fail_in_one_line(demo: Path, args: list[str], expected: str) -> None:
    before = sorted(p.name for p in demo.iterdir())
    proc = snakelab(*args, cwd=demo)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert expected in lines[0], lines[0]
    assert sorted(p.name for p in demo.iterdir()) == before
