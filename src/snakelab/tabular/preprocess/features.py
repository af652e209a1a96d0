"""Feature (spec §5): the input columns of a dataset with their interpolaters, coders, window, shaper.

``include_columns`` xor ``exclude_columns`` (neither: every column). When the Input and the Target
use the same dataset, the label columns are left out of the features automatically. Columns keep
the dataset's order. For sequence and image datasets the columns are the positions along the last
axis (``"0"``, ``"1"``, ...). A window applies to tabular features only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from snakelab.core.errors import InputError
from snakelab.tabular.datasets import Dataset
from snakelab.tabular.preprocess.coders import CoderPlan, resolve_feature_coders
from snakelab.tabular.preprocess.interpolate import InterpolaterPlan, resolve_feature_interpolaters
from snakelab.tabular.preprocess.shaper import ShaperPlan, make_shaper
from snakelab.tabular.preprocess.window import WindowPlan, window_from_spec

INPUT_KEYS = ("include_columns", "exclude_columns", "window", "reshape_indices", "interpolaters", "encoders")


@dataclass
class FeaturePlan:
    """One feature: its dataset, ordered columns and preprocessing chain (``feature_id`` once stored)."""

    dataset: Dataset
    columns: list[str]
    columns_excluded: list[str] | None
    interpolaters: list[InterpolaterPlan] = field(default_factory=list)
    coders: list[CoderPlan] = field(default_factory=list)
    window: WindowPlan | None = None
    shaper: ShaperPlan | None = None
    feature_id: int | None = None

    @property
    def dtype_of(self) -> dict[str, str]:
        """Column → dtype name (for arrays, the array's dtype for every column)."""
        return dtype_map(self.dataset)

    @property
    def leftover_columns(self) -> list[str]:
        """The columns that pass through unencoded (after the last coder), in dataset order."""
        return list(self.coders[-1].leftover_columns) if self.coders else list(self.columns)

    @property
    def encoded_column_names(self) -> list[str] | None:
        """Each coder's output names in chain order, then the leftovers (``None`` before the first fit)."""
        names: list[str] = []
        for coder in self.coders:
            if coder.encoded_column_names is None:
                return None
            names.extend(coder.encoded_column_names)
        return names + self.leftover_columns

    @property
    def encoded_ndim(self) -> int:
        """Dims before the shaper: (samples, [window | rows | channels, rows,] columns)."""
        base = {"tabular": 2, "sequence": 3, "image": 4}[self.dataset.typ]
        return base + (1 if self.window is not None else 0)


def dtype_map(dataset: Dataset) -> dict[str, str]:
    """Column → dtype name of a dataset."""
    columns, dtypes = dataset.columns or [], dataset.dtypes or []
    if dataset.typ != "tabular":
        return {c: dtypes[0] for c in columns}
    return dict(zip(columns, dtypes, strict=True))


def resolve_feature(
    dataset: Dataset,
    spec: Mapping[str, Any],
    label_columns: Sequence[str] = (),
    allowed_encoders: Sequence[str] = (),
) -> FeaturePlan:
    """Check an Input section (config keys ``include_columns`` … ``encoders``) against ``dataset``.

    ``label_columns``: the Target's columns when it uses the same dataset (excluded automatically).
    Raises :class:`InputError` naming the dataset file and the field.
    """
    path = dataset.path
    unknown = sorted(set(spec) - set(INPUT_KEYS))
    if unknown:
        raise InputError(path, f"input.{unknown[0]}", f"unknown key; expected one of {list(INPUT_KEYS)}")
    include, exclude = spec.get("include_columns"), spec.get("exclude_columns")
    if include is not None and exclude is not None:
        raise InputError(
            path, "input.include_columns", "expected include_columns or exclude_columns, not both"
        )
    every = list(dataset.columns or [])
    for key, named in (("include_columns", include), ("exclude_columns", exclude)):
        names = [str(c) for c in ([named] if isinstance(named, (str, int)) else named or [])]
        missing = [c for c in names if c not in every]
        if missing:
            raise InputError(path, f"input.{key}", f"unknown column(s) {missing}; expected some of {every}")
    labels = set(label_columns)
    if include is not None:
        wanted = {str(c) for c in ([include] if isinstance(include, (str, int)) else include)}
        clash = sorted(wanted & labels)
        if clash:
            raise InputError(
                path, "input.include_columns", f"label column(s) {clash} cannot also be features"
            )
        columns = [c for c in every if c in wanted]
    else:
        dropped = {str(c) for c in ([exclude] if isinstance(exclude, (str, int)) else exclude or [])} | labels
        columns = [c for c in every if c not in dropped]
    if not columns:
        raise InputError(path, "input", f"no feature column left (columns {every}, label {sorted(labels)})")
    excluded = [c for c in every if c not in columns] or None
    dtype_of = dtype_map(dataset)
    window = None
    if spec.get("window") is not None:
        if dataset.typ != "tabular":
            raise InputError(path, "input.window", f"windows apply to tabular datasets, not {dataset.typ}")
        if not isinstance(spec["window"], Mapping):
            raise InputError(
                path, "input.window", f"expected {{size_window, size_shift}}, got {spec['window']!r}"
            )
        window = window_from_spec(spec["window"], dataset.n_samples, path)
    plan = FeaturePlan(
        dataset=dataset,
        columns=columns,
        columns_excluded=excluded,
        interpolaters=resolve_feature_interpolaters(spec.get("interpolaters"), columns, dtype_of, path),
        coders=resolve_feature_coders(spec.get("encoders"), columns, dtype_of, allowed_encoders, path),
        window=window,
    )
    if spec.get("reshape_indices") is not None:
        plan.shaper = make_shaper(spec["reshape_indices"], plan.encoded_ndim, path)
    return plan
