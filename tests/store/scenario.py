"""Run the A3 scenario script (:mod:`tests.store.a3`) in its own interpreter and parse its summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.harness import REPO


def run_a3(url: str, out: Path, *args: str, timeout: float = 600) -> tuple[dict[str, Any], str]:
    """``python -m tests.store.a3 --url URL --out OUT ARGS``; (summary, stderr). Fails on a non-zero exit."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("SNAKELAB_STORE_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.store.a3", "--url", url, "--out", str(out), *args],
        cwd=out.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr
