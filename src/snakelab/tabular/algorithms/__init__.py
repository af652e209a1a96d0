"""Algorithms: function references, code hashes, library defaults and one model fit (spec §7).

Importing this package loads only the standard library (the plan stage resolves module files at
workflow parse time); :class:`Functions`, :func:`load_functions`, :func:`train_model` and the library
defaults are loaded on first access (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from snakelab.core.lazy import lazy_exports
from snakelab.tabular.algorithms.references import (
    FUNCTION_FIELDS,
    code_hashes,
    module_file,
    parse_reference,
    reference_of,
    resolve_reference,
)
from snakelab.tabular.algorithms.spec import (
    ANALYSIS_TYPES,
    LIBRARIES,
    AlgorithmSpec,
    algorithm_hash,
    algorithm_spec,
)

if TYPE_CHECKING:
    from snakelab.tabular.algorithms.defaults import Functions, load_functions
    from snakelab.tabular.algorithms.training import Trained, split_train_output, train_model

_LAZY = {
    "Functions": "snakelab.tabular.algorithms.defaults",
    "load_functions": "snakelab.tabular.algorithms.defaults",
    "Trained": "snakelab.tabular.algorithms.training",
    "split_train_output": "snakelab.tabular.algorithms.training",
    "train_model": "snakelab.tabular.algorithms.training",
}

__all__ = [
    "ANALYSIS_TYPES",
    "FUNCTION_FIELDS",
    "LIBRARIES",
    "AlgorithmSpec",
    "Functions",
    "Trained",
    "algorithm_hash",
    "algorithm_spec",
    "code_hashes",
    "load_functions",
    "module_file",
    "parse_reference",
    "reference_of",
    "resolve_reference",
    "split_train_output",
    "train_model",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
