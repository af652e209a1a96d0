"""The query API over the lineage tables: pandas DataFrames of runs and metrics, and a run's lineage.

Every function takes a :class:`~snakelab.store.core.Store` (opened read-only is enough). The tabular
views (``metrics_df(experiment)``, ``metrics_aggregate_df``, ``importance_df``) build on these.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from snakelab.store.errors import RunNotFound, StoreError

if TYPE_CHECKING:
    import pandas as pd

    from snakelab.store.core import Store

RUN_COLUMNS = [
    "id",
    "uid",
    "pipeline",
    "kind",
    "name",
    "status",
    "attempt",
    "seed",
    "started_at",
    "finished_at",
    "duration_s",
    "host",
    "pid",
    "slurm_job_id",
    "parent_uid",
    "config_hash",
    "error",
]
METRIC_COLUMNS = [
    "run_uid",
    "pipeline",
    "kind",
    "run_name",
    "name",
    "split",
    "step",
    "value",
    "prediction_id",
]
METRIC_KEYS = ["run_uid", "pipeline", "kind", "run_name", "split"]


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def parse_since(since: str | datetime | None) -> datetime | None:
    """An ISO 8601 time (naive = UTC) as a timezone-aware datetime."""
    if since is None or isinstance(since, datetime):
        moment = since
    else:
        try:
            moment = datetime.fromisoformat(since)
        except ValueError:
            raise StoreError(
                f"--since: expected an ISO 8601 time like 2026-01-31T12:00, got {since!r}"
            ) from None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _utc(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    for column in columns:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def runs_df(
    store: Store,
    pipeline: str | Sequence[str] | None = None,
    status: str | Sequence[str] | None = None,
    kind: str | Sequence[str] | None = None,
    since: str | datetime | None = None,
) -> pd.DataFrame:
    """One row per run (columns :data:`RUN_COLUMNS`, times UTC, ``duration_s`` in seconds), oldest first.

    Filters: ``pipeline``, ``status``, ``kind`` (a value or a list), ``since`` (started at or after).
    """
    import pandas as pd
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from snakelab.store.models import Run

    parent = aliased(Run)
    query = select(
        *(getattr(Run, c) for c in RUN_COLUMNS if c != "parent_uid"), parent.uid.label("parent_uid")
    ).outerjoin(parent, Run.parent_id == parent.id)
    for column, value in ((Run.pipeline, pipeline), (Run.status, status), (Run.kind, kind)):
        values = _as_list(value)
        if values is not None:
            query = query.where(column.in_(values))
    moment = parse_since(since)
    if moment is not None:
        query = query.where(Run.started_at >= moment)
    with store.read() as session:
        rows = session.execute(query.order_by(Run.started_at, Run.id)).mappings().all()
    frame = pd.DataFrame([dict(r) for r in rows], columns=RUN_COLUMNS)
    return _utc(frame, ["started_at", "finished_at"])


def metrics_long_df(
    store: Store,
    runs: str | Sequence[str] | None = None,
    *,
    pipeline: str | Sequence[str] | None = None,
    kind: str | Sequence[str] | None = None,
    names: str | Sequence[str] | None = None,
    splits: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every metric value, one row each (columns :data:`METRIC_COLUMNS`; ``split`` '' and ``step`` −1 = none).

    ``runs``: uid(s); ``pipeline``/``kind``: of the runs; ``names``/``splits``: of the metrics.
    """
    import pandas as pd
    from sqlalchemy import select

    from snakelab.store.models import Metric, Run

    query = select(
        Run.uid.label("run_uid"),
        Run.pipeline,
        Run.kind,
        Run.name.label("run_name"),
        Metric.name,
        Metric.split,
        Metric.step,
        Metric.value,
        Metric.prediction_id,
    ).join(Run, Metric.run_id == Run.id)
    for column, value in (
        (Run.uid, runs),
        (Run.pipeline, pipeline),
        (Run.kind, kind),
        (Metric.name, names),
        (Metric.split, splits),
    ):
        values = _as_list(value)
        if values is not None:
            query = query.where(column.in_(values))
    with store.read() as session:
        rows = (
            session.execute(query.order_by(Run.id, Metric.name, Metric.split, Metric.step)).mappings().all()
        )
    frame = pd.DataFrame([dict(r) for r in rows], columns=METRIC_COLUMNS)
    frame["value"] = frame["value"].astype(float)
    return frame


def metrics_df(
    store: Store,
    *,
    runs: str | Sequence[str] | None = None,
    pipeline: str | Sequence[str] | None = None,
    kind: str | Sequence[str] | None = None,
    splits: str | Sequence[str] | None = None,
    selected_metrics: str | Sequence[str] | None = None,
    sort_by: str | None = None,
    ascending: bool = False,
    round: int | None = None,
) -> pd.DataFrame:
    """One row per (run, split): ``run_uid, pipeline, kind, run_name, split`` and one column per metric.

    A metric's value is the one at its highest step. ``sort_by`` a metric column (descending unless
    ``ascending``); ``round``: decimals (AIQC's tables use 3).
    """
    import pandas as pd

    long = metrics_long_df(store, runs, pipeline=pipeline, kind=kind, names=selected_metrics, splits=splits)
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in long.sort_values(["step"], kind="stable").itertuples(index=False):
        key = (record.run_uid, record.pipeline, record.kind, record.run_name, record.split)
        rows.setdefault(key, dict(zip(METRIC_KEYS, key, strict=True)))[record.name] = record.value
    order = {uid: i for i, uid in enumerate(dict.fromkeys(long["run_uid"]))}
    keys = sorted(rows, key=lambda k: (order[k[0]], k[4]))
    metric_columns = sorted(set(long["name"]))
    wide = pd.DataFrame([rows[k] for k in keys], columns=[*METRIC_KEYS, *metric_columns])
    wide[metric_columns] = wide[metric_columns].astype(float)
    if round is not None:
        wide[metric_columns] = wide[metric_columns].round(round)
    if sort_by is not None:
        if sort_by not in wide.columns:
            raise StoreError(f"sort_by: no metric {sort_by!r}; expected one of {metric_columns}")
        wide = wide.sort_values(sort_by, ascending=ascending, kind="stable").reset_index(drop=True)
    return wide


def resolve_run(store: Store, ident: str | int) -> str:
    """The uid of the run named by a uid, a unique uid prefix (≥ 4 hex digits) or a database id."""
    from sqlalchemy import select

    from snakelab.store.models import Run

    text = str(ident).strip()
    with store.read() as session:
        if text.isdigit() and len(text) < 20:
            uid = session.scalar(select(Run.uid).where(Run.id == int(text)))
            if uid is not None:
                return uid
        if len(text) >= 4:
            matches = session.scalars(select(Run.uid).where(Run.uid.startswith(text)).limit(2)).all()
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise RunNotFound(f"run {text}: ambiguous uid prefix in {store.masked_url}; give more digits")
    raise RunNotFound(f"run {text}: no run with this uid, uid prefix or id in {store.masked_url}")


def lineage(store: Store, run_uid: str) -> dict[str, Any]:
    """A run with where its inputs came from and where its outputs went.

    ``{run, parent, children, inputs: [{role, path, sha256, size_bytes, media_type, produced_by}],
    outputs: [{…, consumed_by}], metrics: [{name, split, step, value}]}``; ``produced_by`` /
    ``consumed_by`` are uids of other runs that wrote / read a file with the same sha256.
    """
    from sqlalchemy import select

    from snakelab.store.models import Artifact, Run, RunIO
    from snakelab.store.record import load_record

    with store.read() as session:
        record = load_record(session, run_uid)
        if record is None:
            raise RunNotFound(f"run {run_uid}: not found in {store.masked_url}")

        def linked(sha256: str, direction: str) -> list[str]:
            query = (
                select(Run.uid)
                .join(RunIO, RunIO.run_id == Run.id)
                .join(Artifact, RunIO.artifact_id == Artifact.id)
                .where(Artifact.sha256 == sha256, RunIO.direction == direction, Run.uid != run_uid)
                .order_by(Run.id)
                .distinct()
            )
            return list(session.scalars(query))

        children = list(session.scalars(select(Run.uid).where(Run.parent_id == record.id).order_by(Run.id)))
        inputs = [{**vars(ref), "produced_by": linked(ref.sha256, "out")} for ref in record.inputs]
        outputs = [{**vars(ref), "consumed_by": linked(ref.sha256, "in")} for ref in record.outputs]
    doc = record.to_json()
    metrics = doc.pop("metrics")
    for key in ("inputs", "outputs", "format"):
        doc.pop(key)
    return {
        "run": doc,
        "parent": record.parent_uid,
        "children": children,
        "inputs": inputs,
        "outputs": outputs,
        "metrics": metrics,
    }


def datasets_df(store: Store) -> pd.DataFrame:
    """One row per dataset version: ``id, name, version, typ, shape, content_hash, ingested, path``."""
    import pandas as pd
    from sqlalchemy import select

    from snakelab.store.models import Dataset

    columns = ["id", "name", "version", "typ", "shape", "content_hash", "ingested", "path"]
    with store.read() as session:
        rows = session.scalars(select(Dataset).order_by(Dataset.name, Dataset.version, Dataset.id)).all()
        records = [
            {
                "id": d.id,
                "name": d.name,
                "version": d.version,
                "typ": d.typ,
                "shape": d.shape,
                "content_hash": d.content_hash,
                "ingested": d.is_ingested,
                "path": d.data_path if d.is_ingested else d.source_path,
            }
            for d in rows
        ]
    return pd.DataFrame(records, columns=columns)
