"""The Algorithm: library, analysis type, function references and their code hashes (spec §3, §7).

Standard library only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from snakelab.core.errors import InputError
from snakelab.tabular.algorithms.references import FUNCTION_FIELDS, code_hashes, module_file, reference_of

LIBRARIES = ("keras", "pytorch", "sklearn")
ANALYSIS_TYPES = ("classification_binary", "classification_multi", "regression")

FunctionRef = Callable[..., Any] | str | None


@dataclass(frozen=True)
class AlgorithmSpec:
    """An Algorithm row before it is stored: the columns of table ``algorithm``.

    ``fn_*`` are ``module:qualname`` references (None = the library default); ``code`` maps each given
    function to ``{module_sha256, source_sha256}``.
    """

    library: str
    analysis_type: str
    fn_build: str
    fn_train: str | None
    fn_predict: str | None
    fn_lose: str | None
    fn_optimize: str | None
    code: dict[str, dict[str, str | None]]
    algorithm_hash: str

    def references(self) -> dict[str, str | None]:
        """``{fn_build: ref, fn_train: ref | None, ...}`` in :data:`FUNCTION_FIELDS` order."""
        return {field: getattr(self, field) for field in FUNCTION_FIELDS}

    def module_files(self) -> list[str]:
        """The files of the modules that define the given functions (sorted, unique): train-rule inputs."""
        files = {module_file(ref) for ref in self.references().values() if ref is not None}
        return sorted(f for f in files if f is not None)

    def as_row(self) -> dict[str, Any]:
        """The values of the ``algorithm`` table's own columns."""
        return {
            "library": self.library,
            "analysis_type": self.analysis_type,
            **self.references(),
            "code": self.code,
            "algorithm_hash": self.algorithm_hash,
        }


def algorithm_hash(
    library: str,
    analysis_type: str,
    references: Mapping[str, str | None],
    code: Mapping[str, Mapping[str, str | None]],
) -> str:
    """sha256 (hex) of the canonical JSON of library, analysis type, references and module hashes."""
    payload = {
        "library": library,
        "analysis_type": analysis_type,
        "functions": {field: references.get(field) for field in FUNCTION_FIELDS},
        "modules": {field: code[field]["module_sha256"] for field in sorted(code)},
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def algorithm_spec(
    library: str,
    analysis_type: str,
    fn_build: FunctionRef,
    fn_train: FunctionRef = None,
    fn_predict: FunctionRef = None,
    fn_lose: FunctionRef = None,
    fn_optimize: FunctionRef = None,
) -> AlgorithmSpec:
    """Check and hash an algorithm. Functions may be callables or ``module:qualname`` strings.

    Every given function is imported (a reference that does not import, or a function from ``__main__``,
    a lambda or a nested function, is an :class:`InputError` naming it); ``fn_build`` is required.
    """
    if library not in LIBRARIES:
        raise InputError(None, "library", f"expected one of {', '.join(LIBRARIES)}, got {library!r}")
    if analysis_type not in ANALYSIS_TYPES:
        raise InputError(
            None, "analysis_type", f"expected one of {', '.join(ANALYSIS_TYPES)}, got {analysis_type!r}"
        )
    if fn_build is None:
        raise InputError(None, "fn_build", "required: a 'module:qualname' reference to a model builder")
    given = {
        "fn_build": fn_build,
        "fn_train": fn_train,
        "fn_predict": fn_predict,
        "fn_lose": fn_lose,
        "fn_optimize": fn_optimize,
    }
    refs = {field: None if fn is None else reference_of(fn, field) for field, fn in given.items()}
    code = {field: code_hashes(ref, field) for field, ref in refs.items() if ref is not None}
    return AlgorithmSpec(
        library=library,
        analysis_type=analysis_type,
        fn_build=refs["fn_build"],  # type: ignore[arg-type]
        fn_train=refs["fn_train"],
        fn_predict=refs["fn_predict"],
        fn_lose=refs["fn_lose"],
        fn_optimize=refs["fn_optimize"],
        code=code,
        algorithm_hash=algorithm_hash(library, analysis_type, refs, code),
    )
