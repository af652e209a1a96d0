"""Build a model, scorer, policy, generator or smoother from its name and parameters.

Every class is found in a static registry (no package walk) and declares its parameters as typed
keyword arguments with defaults; **every** parameter is settable. Values from the command line
(``--scorer-param max_triples=100``) arrive as strings and are cast by the declared type; values from
JSON or YAML keep their type when it fits. Unknown names or keys fail with the allowed ones listed.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from snakelab.core.errors import InputError

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}
_NONE = {"none", "null"}


def parse_key_values(pairs: Sequence[str], option: str) -> dict[str, str]:
    """``["a=1", "b=x"]`` → ``{"a": "1", "b": "x"}``; ``option`` names the flag in errors."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(None, option, f"expected KEY=VALUE, found {pair!r}")
        out[key.strip()] = value.strip()
    return out


def parse_params(pairs: Sequence[str] | None, params_json: str | None, option: str) -> dict[str, Any]:
    """Merge ``--<role>-params-json`` (a JSON object) and repeated ``--<role>-param KEY=VALUE``."""
    params: dict[str, Any] = {}
    if params_json:
        try:
            loaded = json.loads(params_json)
        except json.JSONDecodeError as exc:
            raise InputError(None, f"{option}s-json", f"expected a JSON object ({exc.msg})") from None
        if not isinstance(loaded, dict):
            raise InputError(
                None, f"{option}s-json", f"expected a JSON object, found {type(loaded).__name__}"
            )
        params.update(loaded)
    params.update(parse_key_values(pairs or (), option))
    return params


def _is_optional(annotation: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) < len(typing.get_args(annotation)):
            return True, args[0] if len(args) == 1 else annotation
    return False, annotation


def _a(kind: Any) -> str:
    name = getattr(kind, "__name__", str(kind))
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def cast_value(value: Any, annotation: Any, where: str) -> Any:
    """Cast ``value`` (a string from the command line, or a parsed JSON/YAML value) to ``annotation``.

    Supports ``bool`` (true/false/1/0/yes/no), ``int``, ``float``, ``str``, ``X | None``
    (``none``/``null``), ``list[...]``/``tuple[...]`` (JSON list or comma-separated) and ``Literal``.
    """
    optional, inner = _is_optional(annotation)
    if value is None or (isinstance(value, str) and value.lower() in _NONE):
        if optional:
            return None
        raise InputError(None, where, f"expected {_a(inner)}, found none")
    origin = typing.get_origin(inner)
    if origin is typing.Literal:
        allowed = typing.get_args(inner)
        if value not in allowed:
            raise InputError(None, where, f"expected one of {', '.join(map(str, allowed))}, found {value!r}")
        return value
    if origin in (list, tuple, Sequence) or inner in (list, tuple):
        items = value
        if isinstance(value, str):
            text = value.strip()
            items = json.loads(text) if text.startswith("[") else [v for v in text.split(",") if v]
        (item_type,) = typing.get_args(inner)[:1] or (str,)
        return [cast_value(v, item_type, where) for v in items]
    if inner is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise InputError(None, where, f"expected true/false/1/0/yes/no, found {value!r}")
    if inner in (int, float):
        if isinstance(value, bool):
            raise InputError(None, where, f"expected {_a(inner)}, found {value!r}")
        try:
            cast = inner(value)
        except (TypeError, ValueError):
            raise InputError(None, where, f"expected {_a(inner)}, found {value!r}") from None
        if inner is int and isinstance(value, float) and cast != value:
            raise InputError(None, where, f"expected an int, found {value!r}")
        return cast
    if inner is str:
        return str(value)
    return value


def parameter_types(cls: type) -> dict[str, tuple[Any, Any]]:
    """``{name: (annotation, default)}`` of the keyword parameters of ``cls``'s constructor."""
    hints = typing.get_type_hints(cls.__init__)
    out = {}
    for name, param in inspect.signature(cls).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        out[name] = (hints.get(name, Any), param.default)
    return out


def build(registry: Mapping[str, type], role: str, name: str, params: Mapping[str, Any] | None) -> Any:
    """Instantiate ``registry[name]`` with ``params`` cast by the constructor's annotations.

    ``role`` names the option in errors (``scorer``, ``plate-generator``, ...).
    """
    params = dict(params or {})
    if name not in registry:
        raise InputError(None, f"--{role}", f"expected one of {', '.join(sorted(registry))}, found {name!r}")
    cls = registry[name]
    declared = parameter_types(cls)
    unknown = sorted(set(params) - set(declared))
    if unknown:
        allowed = ", ".join(declared) or "none"
        raise InputError(
            None, f"--{role}-param", f"{name} has no parameter {unknown[0]!r} (allowed: {allowed})"
        )
    kwargs = {
        key: cast_value(value, declared[key][0], f"--{role}-param {key}")
        for key, value in (params or {}).items()
    }
    missing = [
        k for k, (_, default) in declared.items() if default is inspect.Parameter.empty and k not in kwargs
    ]
    if missing:
        raise InputError(None, f"--{role}-param", f"{name} needs {', '.join(missing)}")
    return cls(**kwargs)
