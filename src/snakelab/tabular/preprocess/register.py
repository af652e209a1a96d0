"""Store rows of the preprocessing plans (spec §3): feature, label and their chains, and back.

:func:`insert_feature` / :func:`insert_label` add the rows inside a unit of work
(:meth:`snakelab.store.core.Store.transaction`); :func:`load_feature` / :func:`load_label` rebuild
the plans from the rows, so a fold is always fit with what was registered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from snakelab.tabular.datasets import Dataset
from snakelab.tabular.preprocess.coders import CoderPlan
from snakelab.tabular.preprocess.features import FeaturePlan
from snakelab.tabular.preprocess.filters import ColumnFilter
from snakelab.tabular.preprocess.interpolate import InterpolaterPlan
from snakelab.tabular.preprocess.labels import LabelPlan
from snakelab.tabular.preprocess.shaper import ShaperPlan
from snakelab.tabular.preprocess.window import WindowPlan

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def _coder_values(coder: CoderPlan) -> dict[str, Any]:
    return {
        "spec": coder.spec,
        "forced_params": coder.forced_params,
        "is_categorical": coder.is_categorical,
        "fit_scope": coder.fit_scope,
        "matching_columns": coder.matching_columns,
        "encoding_dimension": coder.encoding_dimension,
    }


def insert_feature(session: Session, plan: FeaturePlan, name: str | None = None) -> int:
    """Insert the feature and its interpolater, coder, shaper and window rows; the feature id."""
    from snakelab.store import models

    feature = models.Feature(
        dataset_id=plan.dataset.id, columns=plan.columns, columns_excluded=plan.columns_excluded, name=name
    )
    session.add(feature)
    session.flush()
    for step in plan.interpolaters:
        session.add(
            models.FeatureInterpolater(
                feature_id=feature.id,
                idx=step.idx,
                process_separately=step.process_separately,
                interpolate_kwargs=step.interpolate_kwargs,
                filter=None if step.filter is None else step.filter.to_json(),
                matching_columns=step.matching_columns,
                leftover_columns=step.leftover_columns,
                leftover_dtypes=step.leftover_dtypes,
            )
        )
    for coder in plan.coders:
        session.add(
            models.FeatureCoder(
                feature_id=feature.id,
                idx=coder.idx,
                filter=None if coder.filter is None else coder.filter.to_json(),
                encoded_column_names=coder.encoded_column_names,
                leftover_columns=coder.leftover_columns,
                leftover_dtypes=coder.leftover_dtypes,
                **_coder_values(coder),
            )
        )
    if plan.shaper is not None:
        session.add(
            models.FeatureShaper(
                feature_id=feature.id,
                reshape_indices=plan.shaper.reshape_indices,
                column_position=plan.shaper.column_position,
            )
        )
    if plan.window is not None:
        w = plan.window
        session.add(
            models.Window(
                feature_id=feature.id,
                size_window=w.size_window,
                size_shift=w.size_shift,
                record_shifted=w.record_shifted,
                window_count=w.window_count,
                lead=w.lead,
                samples_unshifted=w.samples_unshifted,
                samples_shifted=w.samples_shifted,
            )
        )
    session.flush()
    plan.feature_id = feature.id
    return feature.id


def insert_label(session: Session, plan: LabelPlan, name: str | None = None) -> int:
    """Insert the label and its interpolater and coder rows; the label id."""
    from snakelab.store import models

    label = models.Label(
        dataset_id=plan.dataset.id,
        columns=plan.columns,
        column_count=plan.column_count,
        unique_classes=plan.unique_classes,
        dtype=plan.dtype,
        name=name,
    )
    session.add(label)
    session.flush()
    if plan.interpolater is not None:
        step = plan.interpolater
        session.add(
            models.LabelInterpolater(
                label_id=label.id,
                process_separately=step.process_separately,
                interpolate_kwargs=step.interpolate_kwargs,
                matching_columns=step.matching_columns,
            )
        )
    if plan.coder is not None:
        session.add(models.LabelCoder(label_id=label.id, **_coder_values(plan.coder)))
    session.flush()
    plan.label_id = label.id
    return label.id


def _coder(row: Any, idx: int, feature: bool) -> CoderPlan:
    return CoderPlan(
        idx=idx,
        spec=dict(row.spec),
        forced_params=dict(row.forced_params or {}),
        is_categorical=row.is_categorical,
        fit_scope=row.fit_scope,
        matching_columns=list(row.matching_columns or []),
        filter=ColumnFilter.from_json(row.filter) if feature else None,
        leftover_columns=list(row.leftover_columns or []) if feature else [],
        leftover_dtypes=list(row.leftover_dtypes or []) if feature else [],
        encoding_dimension=row.encoding_dimension,
        encoded_column_names=list(row.encoded_column_names) if feature and row.encoded_column_names else None,
    )


def load_feature(session: Session, feature_id: int) -> FeaturePlan:
    """The plan of a stored feature (with its dataset)."""
    from snakelab.store import models

    row = session.get(models.Feature, feature_id)
    if row is None:
        raise LookupError(f"feature {feature_id}: no such row")
    window = row.window
    return FeaturePlan(
        dataset=Dataset.from_row(row.dataset),
        columns=list(row.columns),
        columns_excluded=None if row.columns_excluded is None else list(row.columns_excluded),
        interpolaters=[
            InterpolaterPlan(
                idx=i.idx,
                process_separately=i.process_separately,
                interpolate_kwargs=dict(i.interpolate_kwargs or {}),
                matching_columns=list(i.matching_columns or []),
                filter=ColumnFilter.from_json(i.filter),
                leftover_columns=list(i.leftover_columns or []),
                leftover_dtypes=list(i.leftover_dtypes or []),
            )
            for i in row.interpolaters
        ],
        coders=[_coder(c, c.idx, feature=True) for c in row.coders],
        window=None
        if window is None
        else WindowPlan(
            window.size_window,
            window.size_shift,
            window.record_shifted,
            window.window_count,
            window.lead,
            [list(r) for r in window.samples_unshifted],
            None if window.samples_shifted is None else [list(r) for r in window.samples_shifted],
        ),
        shaper=None
        if row.shaper is None
        else ShaperPlan(list(row.shaper.reshape_indices), row.shaper.column_position),
        feature_id=row.id,
    )


def load_label(session: Session, label_id: int) -> LabelPlan:
    """The plan of a stored label (with its dataset)."""
    from snakelab.store import models

    row = session.get(models.Label, label_id)
    if row is None:
        raise LookupError(f"label {label_id}: no such row")
    interpolater = row.interpolater
    return LabelPlan(
        dataset=Dataset.from_row(row.dataset),
        columns=list(row.columns),
        column_count=row.column_count,
        unique_classes=None if row.unique_classes is None else list(row.unique_classes),
        dtype=row.dtype or "",
        interpolater=None
        if interpolater is None
        else InterpolaterPlan(
            idx=0,
            process_separately=interpolater.process_separately,
            interpolate_kwargs=dict(interpolater.interpolate_kwargs or {}),
            matching_columns=list(interpolater.matching_columns or []),
        ),
        coder=None if row.coder is None else _coder(row.coder, 0, feature=False),
        label_id=row.id,
    )
