"""Lint as tests: ruff on the Python code, snakefmt and `snakemake --lint` on the workflow."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness import BIN, REPO, run_bounded

WORKFLOW_FILES = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]


def _run(*cmd: str, cwd: Path = REPO) -> str:
    proc = run_bounded(cmd, cwd, timeout=300)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout


def test_ruff_check() -> None:
    _run(str(BIN / "ruff"), "check", "src", "tests", "benchmarks")


def test_ruff_format() -> None:
    _run(str(BIN / "ruff"), "format", "--check", "src", "tests", "benchmarks")


def test_snakefmt() -> None:
    _run(str(BIN / "snakefmt"), "--check", *map(str, WORKFLOW_FILES))


@pytest.mark.slow
def test_snakemake_lint(tmp_path: Path) -> None:
    out = _run(str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--lint", cwd=REPO)
    assert "Lints for" not in out, out
