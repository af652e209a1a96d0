"""Interpolaters (spec §5): ``pandas.DataFrame.interpolate`` on float columns, train rows alone.

Default kwargs ``{method: linear, limit_direction: both, limit_area: None, axis: 0}``; ``method:
polynomial`` is rejected. With ``process_separately`` (default) the train rows are interpolated on
their own, and every other split on train ∪ that split in original row order, keeping only that
split's rows: no train value ever depends on a non-train row. Without it, all rows are interpolated
at once (recorded, as it leaks). Sequences and image channels are interpolated one block at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from snakelab.core.errors import InputError
from snakelab.tabular.preprocess.filters import ColumnFilter, is_float

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_KWARGS: dict[str, Any] = {
    "method": "linear",
    "limit_direction": "both",
    "limit_area": None,
    "axis": 0,
}
_SPEC_KEYS = {"include", "dtypes", "columns", "process_separately", "kwargs"}


@dataclass
class InterpolaterPlan:
    """One interpolation step; the fields are the ``feature_interpolater``/``label_interpolater`` columns."""

    idx: int
    process_separately: bool
    interpolate_kwargs: dict[str, Any]
    matching_columns: list[str]
    filter: ColumnFilter | None = None
    leftover_columns: list[str] = field(default_factory=list)
    leftover_dtypes: list[str] = field(default_factory=list)


def interpolate_kwargs(kwargs: Mapping[str, Any] | None, path: str | None, field: str) -> dict[str, Any]:
    """The defaults updated with ``kwargs``; ``method: polynomial`` and ``axis`` ≠ 0 are rejected."""
    merged = {**DEFAULT_KWARGS, **dict(kwargs or {})}
    if merged["method"] == "polynomial":
        raise InputError(
            path, f"{field}.method", "polynomial is not supported; expected e.g. linear, spline, pchip"
        )
    if merged.get("axis") not in (0, "index", "rows"):
        raise InputError(
            path, f"{field}.axis", f"expected 0 (interpolate along rows), got {merged.get('axis')!r}"
        )
    return merged


def _separately(spec: Mapping[str, Any], path: str | None, field: str) -> bool:
    value = spec.get("process_separately", True)
    if not isinstance(value, bool):
        raise InputError(path, f"{field}.process_separately", f"expected true or false, got {value!r}")
    return value


def resolve_feature_interpolaters(
    specs: Sequence[Mapping[str, Any]] | None,
    columns: Sequence[str],
    dtype_of: Mapping[str, str],
    path: str | None,
    field: str = "input.interpolaters",
) -> list[InterpolaterPlan]:
    """The interpolater chain of a feature: each step's filter picks unused float columns.

    A step without ``dtypes``/``columns`` takes every unused float column; a step whose filter
    selects a non-float column is an error.
    """
    plans: list[InterpolaterPlan] = []
    available = list(columns)
    for idx, spec in enumerate(specs or []):
        where = f"{field}[{idx}]"
        if not isinstance(spec, Mapping):
            raise InputError(path, where, f"expected a mapping, got {spec!r}")
        unknown = sorted(set(spec) - _SPEC_KEYS)
        if unknown:
            raise InputError(
                path, f"{where}.{unknown[0]}", f"unknown key; expected one of {sorted(_SPEC_KEYS)}"
            )
        flt = ColumnFilter.from_spec(spec, path, where)
        pool = available
        if flt.dtypes is None and flt.columns is None:
            pool = [c for c in available if is_float(dtype_of[c])]
        selected = flt.select(pool, dtype_of, path, where)
        not_float = [c for c in selected if not is_float(dtype_of[c])]
        if not_float:
            raise InputError(
                path,
                where,
                f"interpolation needs float columns; {not_float} are {[dtype_of[c] for c in not_float]}",
            )
        available = [c for c in available if c not in selected]
        plans.append(
            InterpolaterPlan(
                idx=idx,
                process_separately=_separately(spec, path, where),
                interpolate_kwargs=interpolate_kwargs(spec.get("kwargs"), path, f"{where}.kwargs"),
                matching_columns=selected,
                filter=flt,
                leftover_columns=list(available),
                leftover_dtypes=[dtype_of[c] for c in available],
            )
        )
    return plans


def resolve_label_interpolater(
    spec: Mapping[str, Any] | None, columns: Sequence[str], dtype_of: Mapping[str, str], path: str | None
) -> InterpolaterPlan | None:
    """The label's interpolater (at most one; the label column must be float)."""
    if spec is None:
        return None
    field = "target.interpolater"
    unknown = sorted(set(spec) - {"process_separately", "kwargs"})
    if unknown:
        raise InputError(path, f"{field}.{unknown[0]}", "unknown key; expected process_separately, kwargs")
    not_float = [c for c in columns if not is_float(dtype_of[c])]
    if not_float:
        raise InputError(
            path,
            field,
            f"interpolation needs a float label; {not_float} are {[dtype_of[c] for c in not_float]}",
        )
    return InterpolaterPlan(
        idx=0,
        process_separately=_separately(spec, path, field),
        interpolate_kwargs=interpolate_kwargs(spec.get("kwargs"), path, f"{field}.kwargs"),
        matching_columns=list(columns),
    )


def _interpolate(frame: pd.DataFrame, kwargs: Mapping[str, Any]) -> pd.DataFrame:
    return frame.astype("float64").interpolate(**kwargs)


def interpolate_rows(
    frame: pd.DataFrame,
    plans: Sequence[InterpolaterPlan],
    rows: np.ndarray,
    train_rows: np.ndarray,
    block: int | None = None,
) -> pd.DataFrame:
    """The rows ``rows`` (sorted positions) of ``frame`` with every step's columns interpolated.

    ``frame`` is indexed by row position. Separately processed steps interpolate ``train_rows ∪
    rows`` (just ``train_rows`` when ``rows`` is the train set); others all rows. With ``block``
    (rows per sequence or image channel) each block of consecutive rows is interpolated alone.
    """
    out = frame.iloc[rows].copy()
    for plan in plans:
        columns = plan.matching_columns
        if block is not None:
            out[columns] = _by_block(out[columns], block, plan.interpolate_kwargs)
            continue
        source = np.union1d(train_rows, rows) if plan.process_separately else np.arange(len(frame))
        filled = _interpolate(frame.iloc[source][columns], plan.interpolate_kwargs)
        out[columns] = filled.loc[out.index]
    return out


def _by_block(frame: pd.DataFrame, block: int, kwargs: Mapping[str, Any]) -> np.ndarray:
    import pandas as pd

    values = frame.to_numpy(dtype="float64").reshape(-1, block, frame.shape[1])
    for b in range(values.shape[0]):
        values[b] = pd.DataFrame(values[b]).interpolate(**kwargs).to_numpy()
    return values.reshape(-1, frame.shape[1])
