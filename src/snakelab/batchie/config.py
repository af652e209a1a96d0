"""Config-time checks of the ``batchie:`` section: every class it names builds with its parameters.

The JSON schema checks the shape of the config; it cannot know each class's parameters. The Snakefile
calls :func:`check_config` while it parses, so a misspelt class or parameter stops the run before any
job starts, with the config key in the message::

    config batchie.arms.pdbal.scorer.params: GaussianDBALScorer has no parameter 'max_tripels'
    (allowed: max_triples, max_chunk, distance_factor, exact)

Each class spec is built exactly as its stage builds it (:func:`snakelab.batchie.registry.build` on the
stage's static registry). Registries are imported when the check runs (numpy only, no SciPy).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from snakelab.core.errors import InputError

__all__ = ["check_config", "class_specs"]


def _registries() -> dict[str, dict[str, type]]:
    from snakelab.batchie.policy import POLICIES
    from snakelab.batchie.prepare.registry import (
        INITIAL_PLATE_GENERATORS,
        PLATE_GENERATORS,
        PLATE_SMOOTHERS,
    )
    from snakelab.batchie.scoring.registry import DISTANCE_METRICS, SCORERS
    from snakelab.batchie.stages.train import MODELS

    return {
        "initial-plate-generator": INITIAL_PLATE_GENERATORS,
        "plate-generator": PLATE_GENERATORS,
        "plate-smoother": PLATE_SMOOTHERS,
        "model": MODELS,
        "distance-metric": DISTANCE_METRICS,
        "scorer": SCORERS,
        "policy": POLICIES,
    }


def class_specs(section: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(config key, stage role, spec) of every non-null class spec in a ``batchie:`` section.

    Keys are dotted paths below ``batchie`` (``arms.pdbal.scorer``); roles name the stage option
    (``scorer`` → ``--scorer``). Sections left out are skipped.
    """
    prepare = section.get("prepare") or {}
    for key, role in (
        ("initial_plate_generator", "initial-plate-generator"),
        ("plate_generator", "plate-generator"),
        ("plate_smoother", "plate-smoother"),
    ):
        if prepare.get(key):
            yield f"prepare.{key}", role, prepare[key]
    if section.get("model"):
        model = section["model"]
        yield "model", "model", {"name": model.get("name", "SparseDrugCombo"), "params": model.get("params")}
    if section.get("distance"):
        distance = section["distance"]
        yield (
            "distance",
            "distance-metric",
            {"name": distance.get("name", "MSEDistance"), "params": distance.get("params")},
        )
    for arm, spec in (section.get("arms") or {}).items():
        for role in ("scorer", "policy"):
            if (spec or {}).get(role):
                yield f"arms.{arm}.{role}", role, spec[role]
    prospective = section.get("prospective") or {}
    for role in ("scorer", "policy"):
        if prospective.get(role):
            yield f"prospective.{role}", role, prospective[role]


def _config_key(key: str, role: str, exc: InputError) -> str:
    """The config key an InputError of :func:`~snakelab.batchie.registry.build` refers to."""
    if exc.field == f"--{role}":
        return f"{key}.name"
    if exc.field == f"--{role}-param":
        return f"{key}.params"
    prefix = f"--{role}-param "
    if exc.field.startswith(prefix):
        return f"{key}.params.{exc.field[len(prefix) :]}"
    return f"{key}.params.{exc.field}"


def check_config(section: Mapping[str, Any]) -> None:
    """Build every class spec of a ``batchie:`` section (and the sampler settings); InputError otherwise.

    The error's field is ``config batchie.<key>`` (``.name`` for an unknown class, ``.params`` for an
    unknown or missing parameter, ``.params.<parameter>`` for a bad value), its expectation the
    builder's (allowed names or parameters, expected type).
    """
    from snakelab.batchie.models.params import McmcParams
    from snakelab.batchie.registry import build

    registries = _registries()
    for key, role, spec in class_specs(section):
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            raise InputError(
                None, f"config batchie.{key}", f"expected {{name: <class>, params: {{...}}}}, found {spec!r}"
            )
        params = spec.get("params") or {}
        if not isinstance(params, Mapping):
            raise InputError(None, f"config batchie.{key}.params", f"expected a mapping, found {params!r}")
        try:
            build(registries[role], role, spec["name"], params)
        except InputError as exc:
            raise InputError(None, f"config batchie.{_config_key(key, role, exc)}", exc.expected) from None
        except (TypeError, ValueError) as exc:
            raise InputError(None, f"config batchie.{key}.params", f"{spec['name']}: {exc}") from None
    mcmc = (section.get("model") or {}).get("mcmc")
    if mcmc:
        try:
            McmcParams.from_mapping(mcmc)
        except InputError as exc:
            raise InputError(None, f"config batchie.model.mcmc.{exc.field}", exc.expected) from None
