"""AIQC defects the store must not repeat (spec §12): D10 side effects on import, D11 'database is locked'."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.harness import BIN
from tests.store.scenario import run_a3

STORE_MODULES = [
    "snakelab.store.cli",
    "snakelab.store.core",
    "snakelab.store.models",
    "snakelab.store.hashing",
    "snakelab.store.lineage",
    "snakelab.store.query",
    "snakelab.store.schema",
    "snakelab.store.versioning",
    "snakelab.store.rebuild",
    "snakelab.store.verify",
]


def _clean_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "SNAKELAB_"))}
    env["HOME"] = str(root / "home")
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"):
        env[name] = str(root / "home" / name.lower())
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*")}


def test_d10_imports_create_nothing(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    env = _clean_env(tmp_path)
    before = _tree(tmp_path)
    probe = (
        "import sys\n"
        "import snakelab, snakelab.store, snakelab.cli\n"
        "snakelab.cli.build_parser()\n"
        "assert 'sqlalchemy' not in sys.modules and 'pandas' not in sys.modules, 'heavy import'\n"
        f"import {', '.join(STORE_MODULES)}\n"
        "from snakelab.store import open_store\n"
        "open_store()\n"
        "open_store(create=True)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert _tree(tmp_path) == before


def test_d10_reading_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    before = _tree(tmp_path)
    proc = subprocess.run(
        [str(BIN / "snakelab"), "store", "runs"],
        cwd=tmp_path,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "error: store not initialised at sqlite:///results/snakelab.sqlite; run 'snakelab store init'"
    ]
    assert _tree(tmp_path) == before


def test_d11_busy_writers_retry_instead_of_dying(tmp_path: Path) -> None:
    summary, stderr = run_a3(
        f"sqlite:///{tmp_path / 'd11.sqlite'}",
        tmp_path / "out",
        "--procs",
        "4",
        "--units",
        "40",
        "--busy-timeout-ms",
        "1",
    )
    assert summary["exit_codes"] == [0, 0, 0, 0]
    assert (summary["runs"], summary["succeeded"], summary["metrics"]) == (160, 160, 480)
    assert summary["retries"] > 0
    assert "database is locked" not in stderr and "Traceback" not in stderr
