"""Fixtures shared by all tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.harness import REPO, Workflow


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (holds Snakefile, config/, workflow/)."""
    return REPO


@pytest.fixture
def workflow(tmp_path: Path) -> Callable[..., Workflow]:
    """Factory: ``workflow(overrides, base=..., name=...)`` → a :class:`Workflow` in a fresh temp
    directory ``name`` whose ``config/config.yaml`` is the repository config ``base`` (the demo by
    default) with ``overrides`` merged in."""

    def make(
        overrides: Mapping[str, Any] | None = None, base: str = "config/config.yaml", name: str = "run"
    ) -> Workflow:
        wf = Workflow(tmp_path / name)
        wf.workdir.mkdir(exist_ok=True)
        wf.write_config(overrides, base)
        return wf

    return make
