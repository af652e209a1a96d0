"""Column filters of interpolaters and coders (spec §5): ``{include, dtypes, columns}``.

A filter selects from the columns that no earlier step of the chain consumed. Columns whose dtype
matches one of ``dtypes``, or that are named in ``columns``, *match*; ``include: true`` selects the
matching columns, ``include: false`` the others. No ``dtypes`` and no ``columns`` matches every
unused column. Dtypes are pandas/numpy dtype names (``float64``, ``int64``, ``object``,
``category``, ...) or the groups ``number``, ``float``, ``int``, ``bool``, ``string``, ``datetime``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from snakelab.core.errors import InputError


def _is_float(dtype: Any) -> bool:
    return getattr(dtype, "kind", "") == "f"


def _is_int(dtype: Any) -> bool:
    return getattr(dtype, "kind", "") in "iu" and str(dtype) != "bool"


def _is_string(dtype: Any) -> bool:
    return str(dtype) in ("object", "string", "str", "category") or str(dtype).startswith("string")


_GROUPS = {
    "number": lambda d: _is_float(d) or _is_int(d),
    "numeric": lambda d: _is_float(d) or _is_int(d),
    "float": _is_float,
    "floating": _is_float,
    "int": _is_int,
    "integer": _is_int,
    "bool": lambda d: str(d) in ("bool", "boolean"),
    "string": _is_string,
    "datetime": lambda d: str(d).startswith("datetime64"),
    "timedelta": lambda d: str(d).startswith("timedelta64"),
}


def pandas_dtype(dtype: str) -> Any:
    """The pandas/numpy dtype object of a dtype name (``"|u1"`` and ``"<f4"`` included)."""
    import pandas as pd

    return pd.api.types.pandas_dtype(dtype)


def dtype_matches(dtype: str, wanted: str) -> bool:
    """Whether a column of dtype ``dtype`` matches the filter entry ``wanted`` (a name or group)."""
    if dtype == wanted:
        return True
    actual = pandas_dtype(dtype)
    group = _GROUPS.get(wanted)
    if group is not None:
        return bool(group(actual))
    try:
        return actual == pandas_dtype(wanted)
    except TypeError:
        return False


def is_numeric(dtype: str) -> bool:
    """Numbers and bools (what may pass through a chain unencoded)."""
    actual = pandas_dtype(dtype)
    return _is_float(actual) or _is_int(actual) or str(actual) in ("bool", "boolean")


def is_float(dtype: str) -> bool:
    """Float dtypes (numpy or pandas ``Float64``): the only columns an interpolater accepts."""
    return _is_float(pandas_dtype(dtype))


@dataclass(frozen=True)
class ColumnFilter:
    """``include`` (bool), ``dtypes`` and ``columns`` (``None`` = not filtering on that)."""

    include: bool = True
    dtypes: tuple[str, ...] | None = None
    columns: tuple[str, ...] | None = None

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], path: str | None, field: str) -> ColumnFilter:
        """The filter keys of a step's spec (``include``, ``dtypes``, ``columns``)."""
        include = spec.get("include", True)
        if not isinstance(include, bool):
            raise InputError(path, f"{field}.include", f"expected true or false, got {include!r}")
        return cls(
            include,
            _names(spec.get("dtypes"), path, f"{field}.dtypes"),
            _names(spec.get("columns"), path, f"{field}.columns"),
        )

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> ColumnFilter | None:
        """The filter stored in a row's ``filter`` column."""
        if value is None:
            return None
        dtypes, columns = value.get("dtypes"), value.get("columns")
        return cls(
            bool(value.get("include", True)),
            None if dtypes is None else tuple(dtypes),
            None if columns is None else tuple(columns),
        )

    def to_json(self) -> dict[str, Any]:
        """``{include, dtypes, columns}`` for the row's ``filter`` column."""
        return {
            "include": self.include,
            "dtypes": None if self.dtypes is None else list(self.dtypes),
            "columns": None if self.columns is None else list(self.columns),
        }

    def select(
        self, available: Sequence[str], dtype_of: Mapping[str, str], path: str | None, field: str
    ) -> list[str]:
        """The columns of ``available`` (unused, in dataset order) this filter selects.

        ``dtype_of`` maps every feature column to its dtype name. Raises :class:`InputError` for an
        unknown or already consumed column, or when nothing is selected.
        """
        named = list(self.columns or ())
        unknown = [c for c in named if c not in dtype_of]
        if unknown:
            raise InputError(
                path, f"{field}.columns", f"unknown column(s) {unknown}; expected some of {list(dtype_of)}"
            )
        consumed = [c for c in named if c not in available]
        if consumed:
            raise InputError(
                path, f"{field}.columns", f"column(s) {consumed} already consumed by an earlier step"
            )
        if self.dtypes is None and self.columns is None:
            matched = set(available)
        else:
            wanted = self.dtypes or ()
            matched = {c for c in available if any(dtype_matches(dtype_of[c], d) for d in wanted)} | set(
                named
            )
        selected = [c for c in available if (c in matched) == self.include]
        if not selected:
            raise InputError(
                path,
                field,
                f"filter {self.to_json()} selects no column; unused columns: {list(available)} "
                f"(dtypes {[dtype_of[c] for c in available]})",
            )
        return selected


def _names(value: Any, path: str | None, field: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, np.str_)) for v in value):
        raise InputError(path, field, f"expected a list of names, got {value!r}")
    return tuple(str(v) for v in value)
