"""envs/<pipeline>.yaml (for `--sdm conda` on clusters) carry exactly the pins of pyproject.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

from tests.harness import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PIPELINE_EXTRAS = ("batchie", "scmedal", "imnn", "segment", "tabular")


def env_pip_requirements(path: Path) -> tuple[list[str], list[str]]:
    env = yaml.safe_load(path.read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    return pip, conda


def test_every_pipeline_extra_has_an_env_and_no_env_is_orphaned() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert set(PIPELINE_EXTRAS) <= set(extras)
    assert {p.stem for p in (REPO / "envs").glob("*.yaml")} == set(PIPELINE_EXTRAS)
    assert extras["all"] == [f"snakelab[workflow,{','.join(PIPELINE_EXTRAS)}]"]


@pytest.mark.parametrize("pipeline", PIPELINE_EXTRAS)
def test_env_pins_equal_pyproject(pipeline: str) -> None:
    pip, conda = env_pip_requirements(REPO / "envs" / f"{pipeline}.yaml")
    expected = PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"][pipeline]
    assert pip[:-1] == expected
    assert pip[-1] == "--editable .."
    assert "python=3.11" in conda


def test_every_requirement_is_pinned_exactly() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    reqs = PYPROJECT["project"]["dependencies"] + [r for k, v in extras.items() if k != "all" for r in v]
    loose = [r for r in reqs if "==" not in r]
    assert loose == []
    assert "torch==2.13.0" in extras["segment"]
