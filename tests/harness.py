"""Running Snakemake from tests: a temp working directory with a copy of the config, bounded in time.

Snakemake ignores SIGTERM while jobs run, so a run that exceeds its time limit is interrupted with
SIGINT (Snakemake then stops its jobs and removes incomplete outputs) and killed 10 s later.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from snakelab.core.config_files import deep_merge

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def tool_env() -> dict[str, str]:
    """The environment for child processes: this interpreter's bin directory first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_bounded(cmd: Sequence[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; on timeout send SIGINT to its process group, then SIGKILL after 10 s.

    Raises ``TimeoutError`` (with the captured output) when the limit was hit.
    """
    proc = subprocess.Popen(
        list(cmd),
        cwd=cwd,
        env=tool_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        raise TimeoutError(f"{' '.join(cmd)} ran longer than {timeout} s; output:\n{out}") from None
    return subprocess.CompletedProcess(list(cmd), proc.returncode, out, "")


@dataclass
class WorkflowRun:
    """One Snakemake invocation: its working directory, command and combined output."""

    workdir: Path
    command: list[str]
    returncode: int
    output: str

    def path(self, relative: str) -> Path:
        """A path inside the run's working directory."""
        return self.workdir / relative


@dataclass
class Workflow:
    """A temp working directory holding ``config/config.yaml`` (the demo config plus overrides)."""

    workdir: Path

    def write_config(
        self, overrides: Mapping[str, Any] | None = None, base: str = "config/config.yaml"
    ) -> Path:
        """Write the config file ``base`` of the repository (the demo by default) with ``overrides``
        merged in, as ``config/config.yaml`` of the working directory; return its path."""
        config = yaml.safe_load((REPO / base).read_text())
        if overrides:
            config = deep_merge(config, overrides)
        target = self.workdir / "config" / "config.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(config, sort_keys=False))
        return target

    def run(
        self,
        *args: str,
        targets: Sequence[str] = (),
        profile: str | None = "workflow/profiles/default",
        cores: int = 2,
        timeout: float = 600,
        check: bool = True,
    ) -> WorkflowRun:
        """Run ``snakemake`` on the repository's Snakefile in this working directory.

        ``check``: raise ``AssertionError`` with Snakemake's output when the exit status is not 0.
        """
        cmd = [str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "--cores", str(cores)]
        if profile is not None:
            cmd += ["--profile", str(REPO / profile)]
        cmd += [*args, *targets]
        proc = run_bounded(cmd, self.workdir, timeout)
        run = WorkflowRun(self.workdir, cmd, proc.returncode, proc.stdout)
        if check and run.returncode != 0:
            raise AssertionError(f"snakemake exited {run.returncode}:\n{run.output}")
        return run
