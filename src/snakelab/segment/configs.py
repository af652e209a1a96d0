"""Run configs (spec §3): expansion of the ``segment:`` section into runs, checks, stored YAML files.

A run = task + architecture + trainer + datasplit (config names of the section) with ``name``,
``repetition``, ``num_iterations``, ``validation_interval`` and ``start``; its id is
``{name}__{repetition}``. ``runs/{run}/run.yaml`` embeds the resolved sub-configs, the data paths
and ``config_hash`` (sha256 of the canonical JSON of everything but the repetition), so a job needs
only that file. Sub-configs are stored once under ``configs/{tasks,architectures,trainers,
datasplits,runs}/{name}.yaml``; a different config under an existing name is an error (the
reference's DuplicateNameError), as is an existing run directory with another hash.

:func:`check_section` runs while the Snakefile is parsed: names referenced by runs exist, network
shapes are valid (§5), ``block_shape`` is a multiple of the eval output, thresholds and biases lie
inside the task's value range, offsets are multiples of voxel sizes.
"""

from __future__ import annotations

import copy
import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from snakelab.core.config_hash import canonical_json
from snakelab.core.errors import InputError
from snakelab.segment import shapes

KINDS = {"task": "tasks", "architecture": "architectures", "trainer": "trainers", "datasplit": "datasplits"}
VALUE_RANGES = {"affinities": (0.0, 1.0), "distance": (-1.0, 1.0), "one_hot": (0.0, 1.0)}
SEPARATOR = "__"
CONFIG = "config"


def run_id(name: str, repetition: int) -> str:
    """``{name}__{repetition}``."""
    return f"{name}{SEPARATOR}{int(repetition)}"


def data_path(root: str | os.PathLike[str], dataset: str) -> Path:
    """``{root}/data/{dataset}.zarr``: the container of a dataset of the section's ``data``."""
    return Path(root) / "data" / f"{dataset}.zarr"


def head_kernel(task: Mapping[str, Any]) -> int:
    """Kernel edge of the task head: ``kernel_size`` for one-hot, else 1."""
    return int(task.get("kernel_size", 1)) if task["type"] == "one_hot" else 1


def task_channels(task: Mapping[str, Any]) -> list[str]:
    """Output channel names: one per affinity offset, per distance channel, per one-hot class."""
    if task["type"] == "affinities":
        return [f"aff{i}" for i in range(len(task["neighborhood"]))]
    if task["type"] == "distance":
        return list(task["channels"])
    return list(task["classes"])


def _fail(field: str, expected: str) -> InputError:
    return InputError(CONFIG, f"segment.{field}", expected)


def _check_task(name: str, task: Mapping[str, Any]) -> None:
    lo, hi = VALUE_RANGES[task["type"]]
    if task["type"] == "distance":
        for t in task["thresholds"]:
            if not lo < float(t) < hi:
                raise _fail(
                    f"tasks.{name}.thresholds",
                    f"threshold {t} is outside the prediction range ({lo:g}, {hi:g}) of a distance task",
                )
        for channel in task["channels"]:
            if channel != "fg" and channel not in (task.get("class_ids") or {}):
                raise _fail(f"tasks.{name}.class_ids", f"channel {channel!r} needs a class id (or use 'fg')")
    if task["type"] == "affinities":
        for b in task["biases"]:
            if not lo < float(b) < hi:
                raise _fail(
                    f"tasks.{name}.biases", f"bias {b} is outside the affinity range ({lo:g}, {hi:g})"
                )
        for offset in task["neighborhood"]:
            if len(offset) != 3 or not any(offset):
                raise _fail(f"tasks.{name}.neighborhood", f"expected non-zero 3-D offsets, found {offset}")


def _check_offsets(name: str, spec: Mapping[str, Any]) -> None:
    offset, voxel_size = spec.get("offset") or [0, 0, 0], spec.get("voxel_size") or [1, 1, 1]
    if any(int(o) % int(v) for o, v in zip(offset, voxel_size, strict=True)):
        raise _fail(
            f"data.{name}.offset", f"offset {list(offset)} is not a multiple of voxel_size {list(voxel_size)}"
        )


def architecture_shapes(arch: Mapping[str, Any], task: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """:func:`snakelab.segment.shapes.check_architecture` with the task head; ShapeError → InputError."""
    try:
        return shapes.check_architecture(arch, head_kernel(task) if task else 1)
    except shapes.ShapeError as exc:
        raise _fail("architectures", str(exc)) from None


def check_section(section: Mapping[str, Any]) -> None:
    """Check the (schema-validated) ``segment:`` section; raise :class:`InputError` on the first problem."""
    for name, spec in (section.get("data") or {}).items():
        _check_offsets(name, spec)
    for name, task in (section.get("tasks") or {}).items():
        _check_task(name, task)
    datasets = set(section.get("data") or {})
    for name, split in (section.get("datasplits") or {}).items():
        if "path" in split:
            continue
        for entry in split.get("train", []):
            if entry["dataset"] not in datasets:
                raise _fail(f"datasplits.{name}.train", f"unknown dataset {entry['dataset']!r}")
        for dataset in split.get("validate", []):
            if dataset not in datasets:
                raise _fail(f"datasplits.{name}.validate", f"unknown dataset {dataset!r}")
    block = section.get("predict", {}).get("block_shape")
    for entry in section.get("runs") or []:
        for key, kind in KINDS.items():
            if entry[key] not in (section.get(kind) or {}):
                raise _fail(f"runs.{entry['name']}.{key}", f"unknown {key} {entry[key]!r}")
        task = section["tasks"][entry["task"]]
        arch = section["architectures"][entry["architecture"]]
        if arch.get("upsample_factors"):
            raise _fail(
                f"architectures.{entry['architecture']}.upsample_factors",
                "training needs labels at the output voxel size; this version trains on the raw grid only",
            )
        info = architecture_shapes(arch, task)
        if block and any(int(b) % int(o) for b, o in zip(block, info["eval_output_shape"], strict=True)):
            raise _fail(
                "predict.block_shape",
                f"{list(block)} is not a multiple of the eval output shape {list(info['eval_output_shape'])} "
                f"of run {entry['name']}",
            )
    criterion = (section.get("select") or {}).get("criterion")
    if criterion:
        from snakelab.segment.evaluate.tasks import task_criteria

        for entry in section.get("runs") or []:
            allowed = task_criteria(section["tasks"][entry["task"]])
            if criterion not in allowed:
                raise _fail(
                    "select.criterion", f"{criterion!r} is not a criterion of run {entry['name']} ({allowed})"
                )
    for volume in section.get("predict", {}).get("volumes") or []:
        if volume not in datasets:
            raise _fail("predict.volumes", f"unknown dataset {volume!r}")


def expand_runs(section: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One entry per run × repetition: the ``runs:`` entry with ``repetition`` and ``run`` (id) added."""
    out = []
    for entry in section.get("runs") or []:
        for repetition in range(int(entry.get("repetitions", 1))):
            item = {k: v for k, v in entry.items() if k != "repetitions"}
            item["repetition"] = repetition
            item["run"] = run_id(entry["name"], repetition)
            out.append(item)
    return out


def _resolve_datasplit(split: Mapping[str, Any], root: Path) -> dict[str, Any]:
    if "path" in split:
        return resolve_directory_datasplit(split["path"])
    return {
        "train": [
            {
                "dataset": e["dataset"],
                "path": str(data_path(root, e["dataset"])),
                "weight": float(e.get("weight", 1.0)),
            }
            for e in split["train"]
        ],
        "validate": [{"dataset": d, "path": str(data_path(root, d))} for d in split.get("validate", [])],
    }


def resolve_directory_datasplit(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Datasets of the directory form ``{path}/{train|validate}/{crop}/``.

    A split directory holding ``raw`` itself is one dataset (flat layout: named after the split); else
    every sub-directory holding ``raw`` is a crop (nested layout: named after the crop). The returned
    container path is the directory that holds ``raw`` (never ``…/raw/raw``).
    """
    base = Path(path)
    out: dict[str, Any] = {"train": [], "validate": []}
    for split in ("train", "validate"):
        directory = base / split
        if (directory / "raw").is_dir():
            crops = [directory]
        else:
            crops = (
                sorted(d for d in directory.iterdir() if (d / "raw").is_dir()) if directory.is_dir() else []
            )
        for crop in crops:
            name = crop.name.removesuffix(".zarr")
            entry = {"dataset": name, "path": str(crop)}
            out[split].append({**entry, "weight": 1.0} if split == "train" else entry)
    if not out["train"]:
        raise InputError(base, "datasplit", "expected train/raw or train/<crop>/raw directories")
    return out


def resolve_run(section: Mapping[str, Any], run: str, root: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``run.yaml`` document of run id ``run``: sub-configs with their names, data paths, seed, hash."""
    for entry in expand_runs(section):
        if entry["run"] == run:
            break
    else:
        raise _fail("runs", f"no run {run!r} (runs: {[e['run'] for e in expand_runs(section)]})")
    root = Path(root)
    task = {"name": entry["task"], **copy.deepcopy(section["tasks"][entry["task"]])}
    arch = {"name": entry["architecture"], **copy.deepcopy(section["architectures"][entry["architecture"]])}
    trainer = {"name": entry["trainer"], **copy.deepcopy(section["trainers"][entry["trainer"]])}
    split = copy.deepcopy(section["datasplits"][entry["datasplit"]])
    datasplit = {"name": entry["datasplit"], **split, "resolved": _resolve_datasplit(split, root)}
    doc: dict[str, Any] = {
        "name": entry["name"],
        "num_iterations": int(entry["num_iterations"]),
        "validation_interval": int(entry.get("validation_interval", 1000)),
        "start": entry.get("start"),
        "seed": int(section.get("seed", 0)),
        "task": task,
        "architecture": arch,
        "trainer": trainer,
        "datasplit": datasplit,
        "shapes": {k: list(v) for k, v in architecture_shapes(arch, task).items()},
    }
    doc["config_hash"] = _hash(doc, section)
    doc["repetition"] = int(entry["repetition"])
    doc["run"] = run
    return doc


def _hash(doc: Mapping[str, Any], section: Mapping[str, Any]) -> str:
    """sha256 of the run's canonical JSON, with dataset specs in place of their paths (the hash, and so
    the seeds, do not depend on where the results directory lies)."""
    keyed = copy.deepcopy(dict(doc))
    resolved = keyed["datasplit"].pop("resolved")
    names = [e["dataset"] for e in resolved["train"]] + [e["dataset"] for e in resolved["validate"]]
    data = section.get("data") or {}
    keyed["datasets"] = {n: data.get(n, n) for n in names}
    keyed["weights"] = [e.get("weight", 1.0) for e in resolved["train"]]
    return hashlib.sha256(canonical_json(keyed).encode("utf-8")).hexdigest()


def seed_sequence(run: Mapping[str, Any]) -> np.random.SeedSequence:
    """``SeedSequence([segment.seed, int(config_hash[:8], 16), repetition])``."""
    return np.random.SeedSequence([int(run["seed"]), int(run["config_hash"][:8], 16), int(run["repetition"])])


def _dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None)


def _write_once(path: Path, doc: Mapping[str, Any], what: str) -> None:
    from snakelab.core.atomic import write_text

    if path.exists():
        existing = yaml.safe_load(path.read_text())
        if canonical_json(existing) != canonical_json(doc):
            raise InputError(path, what, "a different config with this name exists (choose another name)")
        return
    write_text(path, _dump(doc))


def run_yaml_path(root: str | os.PathLike[str], run: str) -> Path:
    return Path(root) / "runs" / run / "run.yaml"


def write_configs(doc: Mapping[str, Any], root: str | os.PathLike[str]) -> Path:
    """Store the sub-configs and ``runs/{run}/run.yaml`` of the resolved run ``doc``; return run.yaml.

    Raises :class:`InputError` when a name already holds another config or the run directory holds a
    run of another ``config_hash``. All checks happen before anything is written.
    """
    root = Path(root)
    target = run_yaml_path(root, doc["run"])
    if target.exists():
        existing = yaml.safe_load(target.read_text()) or {}
        if existing.get("config_hash") != doc["config_hash"]:
            raise InputError(
                target,
                "config_hash",
                f"run {doc['run']} exists with config {str(existing.get('config_hash'))[:10]}, "
                f"not {doc['config_hash'][:10]} (rename the run or remove its directory)",
            )
    pending: list[tuple[Path, dict[str, Any], str]] = []
    for key, kind in KINDS.items():
        sub = {k: v for k, v in doc[key].items() if k not in ("name", "resolved")}
        pending.append((root / "configs" / kind / f"{doc[key]['name']}.yaml", sub, key))
    run_cfg = {
        "task": doc["task"]["name"],
        "architecture": doc["architecture"]["name"],
        "trainer": doc["trainer"]["name"],
        "datasplit": doc["datasplit"]["name"],
        "num_iterations": doc["num_iterations"],
        "validation_interval": doc["validation_interval"],
        "start": doc["start"],
    }
    pending.append((root / "configs" / "runs" / f"{doc['name']}.yaml", run_cfg, "run"))
    for path, sub, what in pending:
        if path.exists() and canonical_json(yaml.safe_load(path.read_text())) != canonical_json(sub):
            raise InputError(path, what, "a different config with this name exists (choose another name)")
    for path, sub, what in pending:
        _write_once(path, sub, what)
    from snakelab.core.atomic import write_text

    write_text(target, _dump(dict(doc)))
    return target


def load_run(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``run.yaml``; a missing key raises :class:`InputError`."""
    path = Path(path)
    doc = yaml.safe_load(path.read_text())
    for key in ("run", "task", "architecture", "trainer", "datasplit", "config_hash", "shapes"):
        if not isinstance(doc, dict) or key not in doc:
            raise InputError(path, key, "missing (expected a run.yaml written by `snakelab segment configs`)")
    return doc


def dataset_names(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    return [e["dataset"] for e in entries]
