"""The ``snakelab`` command: version, help, one-line errors, and no heavy imports at start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import snakelab
from tests.harness import BIN, tool_env

HEAVY = ("tensorflow", "torch", "jax", "keras", "umap", "matplotlib", "scipy", "pandas")


def snakelab_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "snakelab"), *args], cwd=cwd, env=tool_env(), capture_output=True, text=True, timeout=120
    )


def imported_modules(argv: list[str], tmp_path: Path) -> set[str]:
    """Top-level modules loaded by ``snakelab <argv>`` run in a fresh interpreter."""
    probe = (
        "import sys, json\n"
        "from snakelab.cli import main\n"
        "try:\n"
        f"    rc = main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    rc = exc.code\n"
        "assert rc in (0, None), rc\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_version() -> None:
    proc = snakelab_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"snakelab {snakelab.__version__}"
    assert snakelab.__version__ == "0.1.0"


def test_help_lists_every_pipeline() -> None:
    proc = snakelab_cli("--help")
    assert proc.returncode == 0
    for name in ("batchie", "scmedal", "imnn", "segment", "tabular", "store"):
        assert name in proc.stdout
    batchie = snakelab_cli("batchie", "--help")
    assert "make-demo" in batchie.stdout and "metadata" in batchie.stdout


def test_pipeline_without_stage_fails_with_usage() -> None:
    proc = snakelab_cli("imnn")
    assert proc.returncode == 2
    assert "STAGE" in proc.stderr


def test_help_imports_nothing_heavy(tmp_path: Path) -> None:
    modules = imported_modules(["--help"], tmp_path)
    assert not modules & {*HEAVY, "numpy", "h5py"}


def test_batchie_stage_imports_no_framework(tmp_path: Path) -> None:
    modules = imported_modules(["batchie", "make-demo", "--output-dir", "demo"], tmp_path)
    assert {"numpy", "h5py"} <= modules
    assert not modules & set(HEAVY)
    assert (tmp_path / "demo" / "unmasked_screen.h5").is_file()


def test_make_demo_writes_screens_and_log(tmp_path: Path) -> None:
    proc = snakelab_cli("batchie", "make-demo", "--output-dir", "out", "--log", "logs/demo.log", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["masked_screen.h5", "unmasked_screen.h5"]
    log = (tmp_path / "logs" / "demo.log").read_text()
    assert "INFO snakelab.batchie: wrote out/unmasked_screen.h5 and out/masked_screen.h5" in log


def test_metadata_stage(tmp_path: Path) -> None:
    assert snakelab_cli("batchie", "make-demo", "--output-dir", ".", cwd=tmp_path).returncode == 0
    proc = snakelab_cli(
        "batchie", "metadata", "--screen", "masked_screen.h5", "--output", "m.json", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "m.json").read_text()) == {
        "n_unique_samples": 2,
        "n_unique_treatments": 2,
        "size": 12,
        "n_plates": 5,
        "n_unobserved_plates": 4,
        "n_observed_plates": 1,
    }


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["batchie", "metadata", "--screen", "missing.h5", "--output", "m.json"], "error: missing.h5: "),
        (["batchie", "make-demo", "--output-dir", "d", "--threads", "0"], "error: --threads: expected"),
    ],
)
def test_bad_input_is_one_line_and_leaves_nothing(tmp_path: Path, args: list[str], expected: str) -> None:
    proc = snakelab_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(expected)
    assert list(tmp_path.iterdir()) == []
