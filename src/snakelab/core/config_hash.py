"""Deterministic run names: a hash of the canonical JSON form of a config section.

The same settings always give the same name, whatever the key order in the YAML file, so a rerun
with an unchanged config finds its outputs and a changed config writes to a new run directory.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any


def _canonical(value: Any, where: str) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: config values must be finite to be hashed, got {value!r}")
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(f"{where}: cannot hash a config value of type {type(value).__name__}")


def canonical_json(config: Mapping[str, Any]) -> str:
    """The canonical JSON text of ``config``: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(_canonical(config, "config"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_hash(config: Mapping[str, Any], length: int = 10) -> str:
    """First ``length`` hex digits of the SHA-256 of :func:`canonical_json` of ``config``."""
    if not 1 <= length <= 64:
        raise ValueError(f"length must be in 1..64, got {length}")
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()[:length]


def run_name(prefix: str, config: Mapping[str, Any], length: int = 10) -> str:
    """``<prefix>-<config_hash>``: the deterministic run directory name of a pipeline run."""
    return f"{prefix}-{config_hash(config, length)}"
