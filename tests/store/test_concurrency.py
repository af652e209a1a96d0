"""A3: 8 processes × 200 lineage units on one SQLite store, with the default and a 50 ms busy timeout."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.store.scenario import run_a3

PROCS, UNITS = 8, 200


def _check(summary: dict, stderr: str) -> None:
    assert summary["exit_codes"] == [0] * PROCS
    assert summary["outcomes"] == ["ran"] * PROCS
    assert (summary["runs"], summary["succeeded"], summary["metrics"]) == (1600, 1600, 4800)
    assert summary["max_attempt"] == 1
    assert "database is locked" not in stderr and "Traceback" not in stderr


@pytest.mark.slow
def test_a3_eight_writers_on_sqlite(tmp_path: Path) -> None:
    summary, stderr = run_a3(
        f"sqlite:///{tmp_path / 'a3.sqlite'}", tmp_path / "out", "--procs", str(PROCS), "--units", str(UNITS)
    )
    _check(summary, stderr)
    print(f"A3 SQLite default busy timeout: {summary}")
    assert len(list((tmp_path / "out").rglob("run.json"))) == 1600


@pytest.mark.slow
def test_a3_with_a_50ms_busy_timeout_exercises_the_retries(tmp_path: Path) -> None:
    summary, stderr = run_a3(
        f"sqlite:///{tmp_path / 'a3.sqlite'}",
        tmp_path / "out",
        "--procs",
        str(PROCS),
        "--units",
        str(UNITS),
        "--busy-timeout-ms",
        "50",
    )
    _check(summary, stderr)
    assert summary["retries"] > 0
    print(f"A3 SQLite busy_timeout_ms 50: {summary}")


def test_two_processes_registering_one_uid_make_one_row(tmp_path: Path) -> None:
    summary, stderr = run_a3(
        f"sqlite:///{tmp_path / 'same.sqlite'}", tmp_path / "out", "--procs", "2", "--same-uid"
    )
    assert summary["exit_codes"] == [0, 0]
    assert summary["runs"] == 1 and summary["succeeded"] == 1 and summary["max_attempt"] == 1
    assert summary["outcomes"].count("ran") == 1
    assert set(summary["outcomes"]) - {"ran"} <= {"in_progress", "exists"}
    assert "Traceback" not in stderr
