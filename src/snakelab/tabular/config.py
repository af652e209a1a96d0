"""The ``tabular`` config section: defaults and section look-up (spec §11).

Standard library and yaml only: the Snakefile and the plan module use it at parse time. The schema
(``workflow/schemas/config.schema.yaml``) fills the same defaults when Snakemake validates the
config; these are for the CLI used by hand (``--config <yaml> --experiment NAME``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from snakelab.core.errors import InputError

#: defaults of an experiment's ``trainer`` section.
TRAINER_DEFAULTS: dict[str, Any] = {
    "repeat_count": 1,
    "permute_count": 3,
    "search_count": None,
    "search_percent": None,
    "runs_per_task": 1,
    "threads": 1,
    "deterministic": True,
    "nan_loss": "fail",
    "mem_mb": 2000,
    "runtime": 60,
}

#: defaults of an experiment's ``report`` section.
REPORT_DEFAULTS: dict[str, Any] = {
    "format": "png",
    "top_n": 10,
    "skip_head": 0.0,
    "max_loss": None,
    "min_score": None,
}

#: defaults of a pipeline's ``stratifier`` section.
STRATIFIER_DEFAULTS: dict[str, Any] = {
    "size_test": None,
    "size_validation": None,
    "fold_count": None,
    "bin_count": None,
    "unsupervised_stratify_col": None,
}

SECTIONS = ("datasets", "pipelines", "experiments")


def tabular_section(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``tabular`` section of a whole config, with the top-level defaults."""
    section = dict(config.get("tabular") or {})
    section.setdefault("results", "results/tabular")
    section.setdefault("seed", 0)
    section.setdefault("allowed_encoders", [])
    for name in SECTIONS:
        section[name] = dict(section.get(name) or {})
    return section


def named(tabular: Mapping[str, Any], kind: str, name: str, source: str | None = None) -> dict[str, Any]:
    """``tabular.<kind>.<name>`` (kind: datasets | pipelines | experiments), or a one-line error."""
    entries = tabular.get(kind) or {}
    if name not in entries:
        raise InputError(source, f"tabular.{kind}", f"no entry {name!r}; expected one of {sorted(entries)}")
    return dict(entries[name])


def trainer(experiment: Mapping[str, Any]) -> dict[str, Any]:
    """An experiment's ``trainer`` with defaults filled in."""
    return {**TRAINER_DEFAULTS, **(experiment.get("trainer") or {})}


def report(experiment: Mapping[str, Any]) -> dict[str, Any]:
    """An experiment's ``report`` with defaults filled in."""
    return {**REPORT_DEFAULTS, **(experiment.get("report") or {})}


def stratifier(pipeline: Mapping[str, Any]) -> dict[str, Any]:
    """A pipeline's ``stratifier`` with defaults filled in."""
    return {**STRATIFIER_DEFAULTS, **(pipeline.get("stratifier") or {})}


def fold_count(pipeline: Mapping[str, Any]) -> int:
    """Number of folds of a pipeline (0 = no folds)."""
    return int(stratifier(pipeline).get("fold_count") or 0)


def spec_json(value: str, field: str = "--spec") -> dict[str, Any]:
    """A ``--spec`` JSON argument as a mapping (one-line error otherwise)."""
    try:
        doc = json.loads(value)
    except json.JSONDecodeError as exc:
        raise InputError(None, field, f"expected JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(doc, dict):
        raise InputError(None, field, "expected a JSON object")
    return doc


def json_list(value: str, field: str) -> list[Any]:
    """A JSON list argument (one-line error otherwise)."""
    try:
        doc = json.loads(value)
    except json.JSONDecodeError as exc:
        raise InputError(None, field, f"expected a JSON list ({exc.msg})") from None
    if not isinstance(doc, list):
        raise InputError(None, field, "expected a JSON list")
    return doc


def check_tabular(tabular: Mapping[str, Any], source: str = "config") -> None:
    """Cross-key rules the schema cannot express (one-line InputError): every pipeline names a known
    dataset, every experiment a known pipeline, and size_test + size_validation < 1."""
    for name, pipeline in tabular["pipelines"].items():
        if pipeline.get("dataset") not in tabular["datasets"]:
            raise InputError(
                source,
                f"tabular.pipelines.{name}.dataset",
                f"expected one of {sorted(tabular['datasets'])}, got {pipeline.get('dataset')!r}",
            )
        strat = stratifier(pipeline)
        total = (strat["size_test"] or 0) + (strat["size_validation"] or 0)
        if total >= 1:
            raise InputError(
                source,
                f"tabular.pipelines.{name}.stratifier",
                f"expected size_test + size_validation < 1, got {total}",
            )
    for name, experiment in tabular["experiments"].items():
        if experiment.get("pipeline") not in tabular["pipelines"]:
            raise InputError(
                source,
                f"tabular.experiments.{name}.pipeline",
                f"expected one of {sorted(tabular['pipelines'])}, got {experiment.get('pipeline')!r}",
            )
        trainer_section = trainer(experiment)
        if trainer_section["search_count"] is not None and trainer_section["search_percent"] is not None:
            raise InputError(
                source,
                f"tabular.experiments.{name}.trainer",
                "expected search_count or search_percent, not both",
            )
