"""config/README.md and config/docs/*.md document every schema key; the demo config is valid."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from tests.harness import REPO

SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].removeprefix("#/$defs/")
        node = {**SCHEMA["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def schema_keys(node: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted paths of every property the schema allows."""
    for name, sub in _resolve(node).get("properties", {}).items():
        path = f"{prefix}{name}"
        yield path
        yield from schema_keys(sub, f"{path}.")


def test_every_schema_key_is_documented() -> None:
    docs = [REPO / "config" / "README.md", *sorted((REPO / "config" / "docs").glob("*.md"))]
    readme = "\n".join(path.read_text() for path in docs)
    quoted = set(re.findall(r"`([^`]+)`", readme))
    words = {w for q in quoted for w in re.split(r"[.{},<> ]+", q) if w}
    missing = [k for k in schema_keys(SCHEMA) if k.split(".")[-1] not in words]
    assert missing == []


def test_schema_keys_include_the_documented_resources() -> None:
    keys = set(schema_keys(SCHEMA))
    assert {"pipelines", "batchie.resources.default.mem_mb", "batchie.resources.demo_data.runtime"} <= keys


def test_example_configs_are_valid() -> None:
    from snakemake.utils import validate

    examples = sorted((REPO / "config" / "examples").glob("*.yaml"))
    assert {p.name for p in examples} >= {"batchie_reference_demo.yaml", "batchie-paper.yaml"}
    for path in examples:
        config = yaml.safe_load(path.read_text())
        validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
        assert config["pipelines"]
