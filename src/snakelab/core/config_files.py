"""Config files as plain mappings: reading a YAML config file and merging overrides into a config."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from snakelab.core.errors import InputError


def load_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML config file as a mapping (InputError on a missing file or a non-mapping document)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "config", "expected an existing YAML file")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise InputError(path, "config", "expected a mapping at the top level")
    return doc


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in recursively (mappings merge, every other value replaces)."""
    out = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
