"""Lazy package exports: names resolved from their modules on first access (PEP 562).

A package that re-exports heavy modules (SQLAlchemy, pandas, TensorFlow) keeps ``import package``
cheap by resolving those names only when they are used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], module_globals: Mapping[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` for ``package``.

    ``exports`` maps an exported name to the module that defines it; ``module_globals`` is the
    package's ``globals()``. Use as ``__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())``.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    def __dir__() -> list[str]:
        return sorted([*module_globals, *exports])

    return __getattr__, __dir__
