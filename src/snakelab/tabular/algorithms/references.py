"""Functions by reference: ``module:qualname`` strings, resolved with importlib (spec §7, D9).

AIQC dill-pickled the user's functions into the database, so a model defined in a notebook could only be
resumed from that notebook's ``__main__``. Here a function is kept as the text ``package.module:qualname``;
functions defined in ``__main__``, lambdas and nested functions are rejected with one line naming them.
Standard library only (the plan stage calls :func:`module_file` at parse time).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import textwrap
from collections.abc import Callable
from typing import Any

from snakelab.core.errors import InputError

FUNCTION_FIELDS = ("fn_build", "fn_train", "fn_predict", "fn_lose", "fn_optimize")


def _not_importable(field: str, dotted: str) -> InputError:
    return InputError(None, field, f"must be importable from a module (got {dotted})")


def parse_reference(ref: str, field: str) -> tuple[str, str]:
    """``"pkg.mod:Outer.fn"`` → ``("pkg.mod", "Outer.fn")``; a malformed text is an :class:`InputError`."""
    module, sep, qualname = ref.partition(":")
    parts = qualname.split(".")
    if (
        not sep
        or not module
        or not all(p.isidentifier() for p in module.split("."))
        or not all(p.isidentifier() for p in parts)
    ):
        raise InputError(None, field, f"expected a 'module:qualname' reference, got {ref!r}")
    if module == "__main__":
        raise _not_importable(field, f"__main__.{qualname}")
    return module, qualname


def resolve_reference(ref: str, field: str) -> Callable[..., Any]:
    """Import the module of ``ref`` and return the callable its qualname names (one-line errors)."""
    module_name, qualname = parse_reference(ref, field)
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # any failure while importing user code is the reference's fault
        raise InputError(
            None, field, f"cannot import module {module_name!r} of {ref!r} ({type(exc).__name__}: {exc})"
        ) from None
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise InputError(None, field, f"module {module_name!r} has no attribute {qualname!r}") from None
    if not callable(obj):
        raise InputError(None, field, f"{ref!r} is not callable (it is a {type(obj).__name__})")
    return obj


def reference_of(fn: Callable[..., Any] | str, field: str) -> str:
    """A callable as its ``module:qualname`` reference; a string is checked and returned.

    Rejects functions defined in ``__main__``, lambdas, nested functions (``<locals>``) and objects that do
    not resolve back to themselves (e.g. bound methods, partials), each with an :class:`InputError` such
    as ``fn_build: must be importable from a module (got __main__.fn_build)``.
    """
    if isinstance(fn, str):
        resolve_reference(fn, field)
        return fn
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None)
    dotted = f"{module}.{qualname}"
    if not module or not qualname or module == "__main__" or "<" in qualname:
        raise _not_importable(field, dotted if qualname else repr(fn))
    ref = f"{module}:{qualname}"
    if resolve_reference(ref, field) is not fn:
        raise InputError(None, field, f"{dotted} does not resolve back to the given object; pass a function")
    return ref


def module_file(ref: str) -> str | None:
    """The file that defines the module of ``ref`` (``find_spec(...).origin``), or None for built-ins.

    Imports only the module's parent packages, so it is cheap at workflow parse time.
    """
    module_name, _ = ref.partition(":")[::2]
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.has_location or spec.origin is None:
        return None
    return spec.origin


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def code_hashes(ref: str, field: str) -> dict[str, str | None]:
    """``{module_sha256, source_sha256}`` of a reference: the module file's bytes and the dedented source.

    Either is None when it does not exist (a built-in module, a C function).
    """
    obj = resolve_reference(ref, field)
    path = module_file(ref)
    module_sha = None
    if path is not None:
        with open(path, "rb") as handle:
            module_sha = _sha256_bytes(handle.read())
    try:
        source = textwrap.dedent(inspect.getsource(obj))
        source_sha: str | None = _sha256_bytes(source.encode("utf-8"))
    except (OSError, TypeError):
        source_sha = None
    return {"module_sha256": module_sha, "source_sha256": source_sha}
