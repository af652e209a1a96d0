"""Label (spec §5): the target column of a tabular dataset, or several columns already one-hot.

A label needs at least two distinct values. Non-numeric labels need an encoder. A multi-column label
must be one-hot (0/1, one 1 per row) and takes no encoder (``classification_multi`` only).
``unique_classes`` lists the classes of a non-float label (the column names of a one-hot label).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from snakelab.core.errors import InputError
from snakelab.tabular.datasets import Dataset
from snakelab.tabular.preprocess.coders import CoderPlan, resolve_label_coder
from snakelab.tabular.preprocess.filters import is_float, is_numeric
from snakelab.tabular.preprocess.interpolate import InterpolaterPlan, resolve_label_interpolater
from snakelab.tabular.preprocess.jsonable import to_json

TARGET_KEYS = ("column", "interpolater", "encoder")


@dataclass
class LabelPlan:
    """The label: the ``label`` row's columns plus its interpolater and coder (``label_id`` once stored)."""

    dataset: Dataset
    columns: list[str]
    column_count: int
    unique_classes: list[Any] | None
    dtype: str
    interpolater: InterpolaterPlan | None = None
    coder: CoderPlan | None = None
    label_id: int | None = None

    @property
    def is_one_hot(self) -> bool:
        """Several columns, already one-hot encoded."""
        return self.column_count > 1


def label_columns(spec: Mapping[str, Any]) -> list[str]:
    """The column(s) a Target section names (``column``: a name or a list of one-hot columns)."""
    column = spec.get("column")
    return [str(c) for c in ([column] if isinstance(column, (str, int)) else column or [])]


def resolve_label(
    dataset: Dataset, spec: Mapping[str, Any], allowed_encoders: Sequence[str] = ()
) -> LabelPlan:
    """Check a Target section (``column``, ``interpolater``, ``encoder``) against ``dataset``."""
    path = dataset.path
    unknown = sorted(set(spec) - set(TARGET_KEYS))
    if unknown:
        raise InputError(path, f"target.{unknown[0]}", f"unknown key; expected one of {list(TARGET_KEYS)}")
    if dataset.typ != "tabular":
        raise InputError(path, "target.column", f"a label comes from a tabular dataset, not {dataset.typ}")
    columns = label_columns(spec)
    every = list(dataset.columns or [])
    missing = [c for c in columns if c not in every]
    if not columns or missing:
        raise InputError(
            path, "target.column", f"unknown column(s) {missing or columns}; expected one of {every}"
        )
    frame = dataset.load(columns=columns)
    dtypes = [str(frame[c].dtype) for c in columns]
    if len(columns) > 1:
        return _one_hot(dataset, spec, columns, frame, dtypes)
    column, dtype = columns[0], dtypes[0]
    values = frame[column].dropna().unique()
    if len(values) < 2:
        raise InputError(
            path,
            "target.column",
            f"label {column} has {len(values)} class(es) {to_json(list(values))}; expected at least 2",
        )
    if not is_numeric(dtype) and spec.get("encoder") is None:
        raise InputError(
            path,
            "target.encoder",
            f"label {column} is {dtype}; expected an encoder (e.g. sklearn.preprocessing.OneHotEncoder)",
        )
    classes = None if is_float(dtype) else to_json(sorted(values.tolist(), key=lambda v: (str(type(v)), v)))
    dtype_of = {column: dtype}
    return LabelPlan(
        dataset=dataset,
        columns=columns,
        column_count=1,
        unique_classes=classes,
        dtype=dtype,
        interpolater=resolve_label_interpolater(spec.get("interpolater"), columns, dtype_of, path),
        coder=resolve_label_coder(spec.get("encoder"), columns, allowed_encoders, path),
    )


def _one_hot(
    dataset: Dataset, spec: Mapping[str, Any], columns: list[str], frame: Any, dtypes: list[str]
) -> LabelPlan:
    path = dataset.path
    if spec.get("encoder") is not None or spec.get("interpolater") is not None:
        raise InputError(
            path,
            "target.encoder",
            f"label columns {columns} are already one-hot; expected no encoder/interpolater",
        )
    values = frame.to_numpy(dtype="float64", na_value=np.nan) if all(is_numeric(t) for t in dtypes) else None
    if values is None or not np.isin(values, (0.0, 1.0)).all() or not (values.sum(axis=1) == 1).all():
        raise InputError(
            path, "target.column", f"label columns {columns}: expected one-hot 0/1 values with one 1 per row"
        )
    return LabelPlan(
        dataset=dataset,
        columns=columns,
        column_count=len(columns),
        unique_classes=list(columns),
        dtype=dtypes[0] if len(set(dtypes)) == 1 else ",".join(dtypes),
    )


def stratify_source(plan: LabelPlan) -> np.ndarray:
    """The label before encoding, one value per sample (a one-hot label → the index of its 1)."""
    frame = plan.dataset.load(columns=plan.columns)
    if plan.is_one_hot:
        return frame.to_numpy(dtype="float64").argmax(axis=1)
    return frame[plan.columns[0]].to_numpy()
