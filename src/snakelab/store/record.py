"""The record of one run, as stored in the database and written to ``run.json`` beside its outputs.

``run.json`` (format ``snakelab-run-v1``) holds everything needed to re-index the run into an empty
store (``snakelab store rebuild``): the files are the truth, the store is their index.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from snakelab.store.errors import StoreError

RUN_JSON = "run.json"
RECORD_FORMAT = "snakelab-run-v1"
_UID = re.compile(r"^[0-9a-f]{20}$")


class RunRecordError(StoreError):
    """A ``run.json`` file is not a valid run record; names the file and the field."""

    def __init__(self, path: str | os.PathLike[str], field_name: str, expected: str) -> None:
        super().__init__(f"{path}: {field_name}: {expected}")


@dataclass(frozen=True)
class ArtifactRef:
    """One input or output file of a run (``role`` names it: ``model``, ``screen``, …)."""

    role: str
    path: str
    sha256: str
    size_bytes: int
    media_type: str | None = None


@dataclass(frozen=True)
class MetricValue:
    """One metric value; ``split`` '' and ``step`` −1 mean none; ``value`` ``None`` means NaN/undefined."""

    name: str
    value: float | None
    split: str = ""
    step: int = -1


@dataclass
class RunRecord:
    """A run with its inputs, outputs and metrics. Times are timezone-aware UTC; durations in seconds."""

    uid: str
    pipeline: str
    kind: str
    status: str
    config_hash: str
    attempt: int = 1
    name: str | None = None
    config: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    seed: int | None = None
    parent_uid: str | None = None
    host: str | None = None
    pid: int | None = None
    slurm_job_id: str | None = None
    started_at: datetime | None = None
    heartbeat_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = None
    error: str | None = None
    env: dict[str, Any] | None = None
    inputs: list[ArtifactRef] = field(default_factory=list)
    outputs: list[ArtifactRef] = field(default_factory=list)
    metrics: list[MetricValue] = field(default_factory=list)
    id: int | None = None

    def last_metrics(self) -> dict[tuple[str, str], float | None]:
        """``{(name, split): value at the highest step}``."""
        best: dict[tuple[str, str], MetricValue] = {}
        for m in self.metrics:
            key = (m.name, m.split)
            if key not in best or m.step >= best[key].step:
                best[key] = m
        return {key: m.value for key, m in sorted(best.items())}

    def to_json(self) -> dict[str, Any]:
        """The ``run.json`` document (ISO 8601 times; the database id is left out)."""
        doc: dict[str, Any] = {"format": RECORD_FORMAT}
        for key, value in asdict(self).items():
            if key == "id":
                continue
            doc[key] = value.isoformat() if isinstance(value, datetime) else value
        doc["metrics"] = [{**m, "value": _finite(m["value"])} for m in doc["metrics"]]
        return doc

    @classmethod
    def from_json(cls, doc: Any, source: str | os.PathLike[str] = "run.json") -> RunRecord:
        """Parse a ``run.json`` document; :class:`RunRecordError` names ``source`` and the bad field."""
        if not isinstance(doc, dict):
            raise RunRecordError(source, "document", "expected a JSON object")
        if doc.get("format") != RECORD_FORMAT:
            raise RunRecordError(source, "format", f"expected {RECORD_FORMAT!r}, got {doc.get('format')!r}")
        for key in ("uid", "pipeline", "kind", "status", "config_hash"):
            if not isinstance(doc.get(key), str) or not doc[key]:
                raise RunRecordError(source, key, "expected a non-empty string")
        if not _UID.match(doc["uid"]):
            raise RunRecordError(source, "uid", f"expected 20 lowercase hex digits, got {doc['uid']!r}")
        if doc["status"] not in ("running", "succeeded", "failed"):
            expected = f"expected running|succeeded|failed, got {doc['status']!r}"
            raise RunRecordError(source, "status", expected)
        values = {k: v for k, v in doc.items() if k in _SCALAR_FIELDS}
        for key in ("started_at", "heartbeat_at", "finished_at"):
            if values.get(key) is not None:
                try:
                    values[key] = datetime.fromisoformat(values[key])
                except (TypeError, ValueError):
                    expected = f"expected an ISO 8601 time, got {doc[key]!r}"
                    raise RunRecordError(source, key, expected) from None
        try:
            inputs = [ArtifactRef(**a) for a in doc.get("inputs", [])]
            outputs = [ArtifactRef(**a) for a in doc.get("outputs", [])]
        except TypeError as exc:
            expected = f"expected {{role, path, sha256, size_bytes, media_type}}: {exc}"
            raise RunRecordError(source, "inputs/outputs", expected) from None
        try:
            metrics = [MetricValue(**m) for m in doc.get("metrics", [])]
        except TypeError as exc:
            raise RunRecordError(source, "metrics", f"expected {{name, value, split, step}}: {exc}") from None
        return cls(**values, inputs=inputs, outputs=outputs, metrics=metrics)


_SCALAR_FIELDS = {
    "uid",
    "pipeline",
    "kind",
    "status",
    "config_hash",
    "attempt",
    "name",
    "config",
    "params",
    "seed",
    "parent_uid",
    "host",
    "pid",
    "slurm_job_id",
    "started_at",
    "heartbeat_at",
    "finished_at",
    "duration_s",
    "error",
    "env",
}


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def write_run_json(directory: str | os.PathLike[str], record: RunRecord) -> Path:
    """Write ``<directory>/run.json`` atomically (sorted keys, 2-space indent); return its path."""
    from snakelab.core.atomic import write_text

    text = json.dumps(record.to_json(), indent=2, sort_keys=True, allow_nan=False) + "\n"
    return write_text(Path(directory) / RUN_JSON, text)


def read_run_json(path: str | os.PathLike[str]) -> RunRecord:
    """Read and validate one ``run.json``."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RunRecordError(path, f"line {exc.lineno}", f"expected JSON ({exc.msg})") from None
    return RunRecord.from_json(doc, path)


def load_record(session: Any, uid: str) -> RunRecord | None:
    """The stored run ``uid`` as a :class:`RunRecord` (inputs, outputs, metrics loaded), or ``None``."""
    from sqlalchemy import select

    from snakelab.store.models import Run

    run = session.scalars(select(Run).where(Run.uid == uid)).one_or_none()
    return None if run is None else record_of(session, run)


def record_of(session: Any, run: Any) -> RunRecord:
    """A :class:`RunRecord` of the ``Run`` row ``run``."""
    from sqlalchemy import select

    from snakelab.store.models import Artifact, Metric, Run, RunIO

    io_rows = session.execute(
        select(RunIO.direction, RunIO.role, Artifact.path, Artifact.sha256, Artifact.size_bytes)
        .add_columns(Artifact.media_type)
        .join(Artifact, RunIO.artifact_id == Artifact.id)
        .where(RunIO.run_id == run.id)
        .order_by(RunIO.direction, RunIO.role)
    ).all()
    metric_rows = session.execute(
        select(Metric.name, Metric.value, Metric.split, Metric.step)
        .where(Metric.run_id == run.id)
        .order_by(Metric.name, Metric.split, Metric.step)
    ).all()
    parent_uid = None
    if run.parent_id is not None:
        parent_uid = session.scalar(select(Run.uid).where(Run.id == run.parent_id))
    return RunRecord(
        id=run.id,
        uid=run.uid,
        pipeline=run.pipeline,
        kind=run.kind,
        status=run.status,
        config_hash=run.config_hash,
        attempt=run.attempt,
        name=run.name,
        config=run.config,
        params=run.params,
        seed=run.seed,
        parent_uid=parent_uid,
        host=run.host,
        pid=run.pid,
        slurm_job_id=run.slurm_job_id,
        started_at=run.started_at,
        heartbeat_at=run.heartbeat_at,
        finished_at=run.finished_at,
        duration_s=run.duration_s,
        error=run.error,
        env=run.env,
        inputs=[_ref(r) for r in io_rows if r.direction == "in"],
        outputs=[_ref(r) for r in io_rows if r.direction == "out"],
        metrics=[MetricValue(r.name, r.value, r.split, r.step) for r in metric_rows],
    )


def _ref(row: Any) -> ArtifactRef:
    return ArtifactRef(row.role, row.path, row.sha256, row.size_bytes, row.media_type)
