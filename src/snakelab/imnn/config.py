"""The ``imnn:`` config section: defaults that depend on other keys, cross-key checks, run name, sets
and chunks (spec §12, §13). Imports no JAX: the Snakemake rules call it at parse time.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from snakelab.core.config_hash import canonical_json
from snakelab.core.errors import InputError

STREAMS = {"init": 0, "train": 1, "validation": 2, "target": 3, "fit": 4, "final": 5, "abc": 6, "pmc": 7}
FIDUCIAL_SETS = ("fiducial", "validation_fiducial")
SCHEMA = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "config.schema.yaml"


def with_defaults(section: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``section`` with the schema's defaults filled in (as Snakemake's validation does)."""
    import tempfile

    from snakemake.utils import validate

    root = yaml.safe_load(SCHEMA.read_text())
    schema = {k: v for k, v in root.items() if k not in ("properties", "required")}
    schema["properties"] = {"imnn": root["properties"]["imnn"]}
    config = {"imnn": copy.deepcopy(dict(section or {}))}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "imnn.schema.yaml"
        path.write_text(yaml.safe_dump(schema))
        validate(config, str(path))
    return config["imnn"]


def run_name(section: Mapping[str, Any]) -> str:
    """``imnn-`` + 8 hex digits of the sha256 of the canonical JSON of the section (less ``resources``)."""
    keyed = {k: v for k, v in section.items() if k != "resources"}
    return "imnn-" + hashlib.sha256(canonical_json(keyed).encode("utf-8")).hexdigest()[:8]


def simulator_entry(section: Mapping[str, Any], source: str | None = None) -> Any:
    """The registry entry of ``simulator.name`` (None when external ``data:`` replaces the simulator)."""
    if section.get("simulator") is None:
        return None
    from snakelab.imnn.simulators import get

    return get(section["simulator"]["name"], theta_fid=section.get("theta_fid"), path=source)


def resolve(section: Mapping[str, Any], source: str | None = None) -> dict[str, Any]:
    """The section with key-dependent defaults made explicit: ``theta_fid`` and ``prior`` from the
    simulator, ``validate`` (false in simulator mode, else true), ``fit.best`` (false in simulator mode,
    else true), simulator ``args`` completed; then :func:`check` it."""
    out = copy.deepcopy(dict(section))
    entry = simulator_entry(out, source)
    simulator_mode = out["mode"] == "simulator"
    if entry is not None:
        out["simulator"]["args"] = entry.resolve_args(out["simulator"].get("args"), path=source)
        if out.get("theta_fid") is None and entry.theta_fid is not None:
            out["theta_fid"] = list(entry.theta_fid)
        if out.get("prior") is None and entry.prior_low is not None:
            out["prior"] = {"low": list(entry.prior_low), "high": list(entry.prior_high)}
    if out.get("validate") is None:
        out["validate"] = not simulator_mode
    out["fit"] = dict(out["fit"])
    if out["fit"].get("best") is None:
        out["fit"]["best"] = not simulator_mode
    check(out, source)
    return out


def _fail(source: str | None, key: str, value: Any, expected: str) -> None:
    raise InputError(source, f"imnn.{key}", f"{expected}, got {value!r}")


def check(section: Mapping[str, Any], source: str | None = None) -> None:
    """Cross-key checks before any job runs (spec §13); each failure is one InputError line naming the
    key, the value and what was expected."""
    n_s, n_d = section["n_s"], section["n_d"]
    if n_d > n_s:
        _fail(source, "n_d", n_d, f"expected n_d <= n_s = {n_s}")
    if section.get("simulator") is None and section.get("data") is None:
        _fail(source, "simulator", None, "expected a simulator or data: with .npy paths")
    if section["mode"] == "simulator" and section.get("simulator") is None:
        _fail(source, "mode", "simulator", "expected a simulator: for mode simulator")
    theta = section.get("theta_fid")
    if theta is None:
        _fail(source, "theta_fid", None, "expected the fiducial parameters (n_params numbers)")
    n_params = len(theta)
    entry = simulator_entry(section, source)
    if entry is not None and entry.shape_fn is not None and entry.n_params != n_params:
        _fail(source, "theta_fid", theta, f"expected {entry.n_params} values for simulator {entry.name}")
    if section["mode"] == "numerical":
        delta = section["delta_theta"]
        if len(delta) != n_params:
            _fail(source, "delta_theta", delta, f"expected {n_params} values (one per parameter)")
        if any(v <= 0 for v in delta):
            _fail(source, "delta_theta", delta, "expected positive steps")
    prior = section.get("prior")
    if prior is None:
        _fail(source, "prior", None, "expected a prior box {low, high} for this simulator")
    for side in ("low", "high"):
        if len(prior[side]) != n_params:
            _fail(source, f"prior.{side}", prior[side], f"expected {n_params} values (one per parameter)")
    if any(lo >= hi for lo, hi in zip(prior["low"], prior["high"], strict=True)):
        _fail(source, "prior", prior, "expected low < high for every parameter")
    if any(not lo <= t <= hi for t, lo, hi in zip(theta, prior["low"], prior["high"], strict=True)):
        _fail(
            source,
            "theta_fid",
            theta,
            f"expected a point inside the prior box {prior['low']}..{prior['high']}",
        )
    target = section["target"]
    for t in target.get("theta", []):
        if len(t) != n_params:
            _fail(source, "target.theta", t, f"expected {n_params} values per target")
    if section["storage"] != "memory":
        n_devices = len(section["devices"]) if section.get("devices") else 1
        size = n_devices * section["n_per_device"]
        for key, value in (("n_s", n_s), ("n_d", n_d)):
            if value % size:
                _fail(
                    source,
                    key,
                    value,
                    f"expected a multiple of n_devices * n_per_device = {n_devices} * "
                    f"{section['n_per_device']}",
                )
    if section["n_chunks"] > n_d:
        _fail(source, "n_chunks", section["n_chunks"], f"expected at most n_d = {n_d} chunks")


def simulated_sets(section: Mapping[str, Any]) -> list[str]:
    """The sets the ``simulate`` rule writes in chunks (spec §12); none when ``data:`` is given."""
    if section.get("data") is not None:
        return []
    validation = ["validation_fiducial", "validation_derivative"] if section["validate"] else []
    if section["mode"] == "simulator":
        return validation
    return ["fiducial", "derivative", *validation]


def set_size(section: Mapping[str, Any], name: str) -> int:
    """Number of simulations in a set: n_s for fiducial sets, n_d for derivative sets."""
    return section["n_s"] if name in FIDUCIAL_SETS else section["n_d"]


def chunk_indices(n: int, n_chunks: int, chunk: int) -> np.ndarray:
    """Simulation indices of chunk ``chunk`` of ``n`` split into ``n_chunks`` near-equal parts."""
    bounds = np.linspace(0, n, n_chunks + 1).round().astype(int)
    return np.arange(bounds[chunk], bounds[chunk + 1])


def input_shape(section: Mapping[str, Any], data_path: str | None = None) -> tuple[int, ...]:
    """Shape of one simulation: the simulator's (no JAX for the shipped ones), or that of the external
    fiducial array."""
    entry = simulator_entry(section)
    if entry is not None:
        return entry.input_shape(section["simulator"].get("args"))
    path = data_path or section["data"]["fiducial"]
    return tuple(np.load(path, mmap_mode="r").shape[1:])


def load(path: str | Path) -> dict[str, Any]:
    """The resolved section written by the ``config`` stage (JSON)."""
    return json.loads(Path(path).read_text())
