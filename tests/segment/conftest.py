"""Tiny segment fixtures: a schema-validated section, two synthetic volumes, a run directory factory."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import REPO

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

TINY: dict[str, Any] = {
    "seed": 0,
    "threads": 1,
    "data": {
        "tr": {"kind": "spheres", "shape": [24, 40, 40], "n_objects": 12, "seed": 0},
        "va": {"kind": "spheres", "shape": [24, 40, 40], "n_objects": 12, "seed": 100},
    },
    "datasplits": {"d": {"train": [{"dataset": "tr"}], "validate": ["va"]}},
    "tasks": {
        "affs": {"type": "affinities", "biases": [0.5, 0.9]},
        "dist": {"type": "distance", "thresholds": [0.0, 0.25]},
    },
    "architectures": {
        "u": {"input_shape": [20, 20, 20], "eval_shape_increase": [4, 4, 4], "num_fmaps": 2, "fmaps_out": 2}
    },
    "trainers": {
        "t": {"warmup": {"iterations": 5}, "learning_rate": 2.0e-3, "augments": [{"type": "simple"}]}
    },
    "runs": [
        {"name": "a", "task": "affs", "architecture": "u", "trainer": "t", "datasplit": "d",
         "num_iterations": 6, "validation_interval": 3},
        {"name": "b", "task": "dist", "architecture": "u", "trainer": "t", "datasplit": "d",
         "num_iterations": 6, "validation_interval": 3},
    ],
    "predict": {"volumes": ["va"], "block_shape": [16, 16, 16]},
}  # fmt: skip


def validated_section(section: dict[str, Any]) -> dict[str, Any]:
    """``section`` with the schema's defaults filled in (as Snakemake does)."""
    from snakemake.utils import validate

    config = {"pipelines": ["segment"], "segment": copy.deepcopy(section)}
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    return config["segment"]


@pytest.fixture(scope="session")
def tiny_section() -> dict[str, Any]:
    return validated_section(TINY)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory, tiny_section: dict[str, Any]) -> Path:
    """A root holding data/tr.zarr and data/va.zarr."""
    from snakelab.segment.configs import data_path
    from snakelab.segment.data import make_data

    root = tmp_path_factory.mktemp("segment_root")
    for name, spec in tiny_section["data"].items():
        make_data(spec, data_path(root, name))
    return root


@pytest.fixture
def make_run(tiny_data: Path, tiny_section: dict[str, Any], tmp_path: Path) -> Callable[..., Path]:
    """``make_run(run_id, **overrides)`` → a fresh run directory (run.yaml written) under tmp_path."""
    from snakelab.segment.configs import resolve_run, write_configs

    def make(run: str = "b__0", section: dict[str, Any] | None = None, root: Path | None = None) -> Path:
        root = root or tmp_path / "root"
        (root / "data").mkdir(parents=True, exist_ok=True)
        for name in ("tr", "va"):
            link = root / "data" / f"{name}.zarr"
            if not link.exists():
                link.symlink_to(tiny_data / "data" / f"{name}.zarr")
        doc = resolve_run(section or tiny_section, run, root)
        return write_configs(doc, root).parent

    return make


def dump(section: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump({"pipelines": ["segment"], "segment": section}))
    return path
