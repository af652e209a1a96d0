"""The generic lineage layer (spec §9): ``store.run(...)`` records one unit of work of any pipeline.

::

    with store.run(pipeline="scmedal", kind="train", config=section, seed=seed,
                   params={"model": "mec", "fold": 2}, inputs={"adata": path}) as run:
        run.log_metric("val_loss", 0.12, step=10, split="validation")   # buffered
        run.log_artifact("model", out_dir / "model.keras")               # hashed at the end

- **uid** = sha256 of (pipeline, kind, config_hash, sorted input sha256s, seed, params), first 20
  hex digits; config_hash = sha256 of the canonical JSON of the config section.
- If a succeeded run has the same uid and all its outputs are present with matching hashes, entering
  raises :class:`RunExists`. A failed run, a succeeded one with missing/changed outputs, or a stale
  ``running`` one (dead pid on this host, or no heartbeat for ``store.stale_after_s``) is taken over
  with attempt + 1 (its old metrics and links are dropped); a live one raises :class:`RunInProgress`.
- Writes: one transaction at the start, one at the end (status, duration, error, metrics,
  artefacts); in between, buffered metrics and a heartbeat are flushed every ``store.flush_seconds``
  by a background thread. Files are hashed outside transactions, and ``run.json`` (the same record)
  is written next to the outputs before the final transaction.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snakelab.core.config_hash import canonical_json
from snakelab.store.errors import RunExists, RunInProgress, StoreError
from snakelab.store.files import digest_file, resolve_stored, sha256_file
from snakelab.store.record import ArtifactRef, MetricValue, RunRecord, write_run_json
from snakelab.store.types import utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from snakelab.store.core import Store

log = logging.getLogger("snakelab.store")
_SCALARS = (str, int, float, bool, type(None))
#: buffered metric values: (name, split, step) → (value, prediction_id).
Pending = Mapping[tuple[str, str, int], tuple[float | None, int | None]]
_CLAIM_ATTEMPTS = 5


def config_digest(config: Mapping[str, Any] | None) -> str:
    """sha256 (64 hex) of the canonical JSON of a config section (sorted keys, ``(",", ":")``, UTF-8)."""
    return hashlib.sha256(canonical_json(dict(config or {})).encode("utf-8")).hexdigest()


def run_uid(
    pipeline: str,
    kind: str,
    config_hash: str,
    input_sha256s: list[str],
    seed: int | None,
    params: Mapping[str, Any] | None,
) -> str:
    """The 20-hex-digit uid of a unit of work (what determines its result, nothing else)."""
    key = {
        "pipeline": pipeline,
        "kind": kind,
        "config_hash": config_hash,
        "inputs": sorted(input_sha256s),
        "seed": seed,
        "params": dict(params or {}),
    }
    return hashlib.sha256(canonical_json(key).encode("utf-8")).hexdigest()[:20]


def _checked_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if not isinstance(key, str) or not isinstance(value, _SCALARS):
            raise StoreError(
                f"params.{key}: expected a flat mapping of str → str/int/float/bool/None, "
                f"got {type(value).__name__}"
            )
        out[key] = value
    return out


def _finite_or_none(value: Any, name: str) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise StoreError(f"metric {name!r}: expected a number, got {value!r}") from None
    return number if math.isfinite(number) else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(host: str | None, pid: int | None, heartbeat_at: datetime | None, stale_after_s: float) -> bool:
    """Whether a ``running`` run may be taken over: no heartbeat for ``stale_after_s`` seconds, or a
    dead process on this host."""
    if heartbeat_at is not None and (utcnow() - heartbeat_at).total_seconds() > stale_after_s:
        return True
    return host == socket.gethostname() and pid is not None and not _pid_alive(pid)


def outputs_intact(record: RunRecord, root: str | os.PathLike[str] | None = None) -> bool:
    """Whether every output of ``record`` exists with its recorded size and sha256."""
    for ref in record.outputs:
        path = resolve_stored(ref.path, root)
        if not path.is_file() or path.stat().st_size != ref.size_bytes or sha256_file(path) != ref.sha256:
            return False
    return True


class RunContext:
    """A running unit of work: buffer metrics, name output files. Made by :meth:`Store.run`."""

    def __init__(self, store: Store, record: RunRecord, run_dir: Path | None) -> None:
        self.store = store
        self._record = record
        self._run_dir = run_dir
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str, int], tuple[float | None, int | None]] = {}
        self._metrics: dict[tuple[str, str, int], float | None] = {}
        self._artifacts: dict[str, tuple[Path, str | None]] = {}

    @property
    def uid(self) -> str:
        """The run's uid (20 hex digits)."""
        return self._record.uid

    @property
    def id(self) -> int:
        """The run's database id."""
        assert self._record.id is not None
        return self._record.id

    @property
    def attempt(self) -> int:
        """1 for a first run; +1 for each takeover of a failed or stale run."""
        return self._record.attempt

    @property
    def seed(self) -> int | None:
        """The run's seed."""
        return self._record.seed

    @property
    def record(self) -> RunRecord:
        """The run as recorded so far (metrics logged up to now; outputs are known at the end)."""
        with self._lock:
            metrics = [MetricValue(n, v, s, st) for (n, s, st), v in sorted(self._metrics.items())]
        return replace(self._record, metrics=metrics)

    def log_metric(
        self,
        name: str,
        value: Any,
        step: int | None = None,
        split: str | None = None,
        prediction_id: int | None = None,
    ) -> None:
        """Buffer one value (NaN/inf stored as NULL); the same (name, split, step) again overwrites it.

        ``step`` −1/None and ``split`` ''/None mean none. Flushed every ``store.flush_seconds``
        and at the end.
        """
        if not isinstance(name, str) or not name:
            raise StoreError(f"metric name: expected a non-empty string, got {name!r}")
        key = (name, split or "", -1 if step is None else int(step))
        number = _finite_or_none(value, name)
        with self._lock:
            self._pending[key] = (number, prediction_id)
            self._metrics[key] = number

    def log_metrics(
        self, values: Mapping[str, Any], step: int | None = None, split: str | None = None
    ) -> None:
        """:meth:`log_metric` for each ``name → value``."""
        for name, value in values.items():
            self.log_metric(name, value, step=step, split=split)

    def log_artifact(self, role: str, path: str | os.PathLike[str], media_type: str | None = None) -> None:
        """Name an output file; it is hashed (sha256, size) when the run ends, so it may be written later."""
        if not isinstance(role, str) or not role:
            raise StoreError(f"artifact role: expected a non-empty string, got {role!r}")
        with self._lock:
            self._artifacts[role] = (Path(path), media_type)

    def flush(self) -> None:
        """Write the buffered metrics and a heartbeat now (one transaction)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        try:
            self.store.transaction(lambda s: _write_progress(s, self._record, pending, heartbeat=True))
        except BaseException:
            with self._lock:
                self._pending = {**pending, **self._pending}
            raise

    # -- internal ------------------------------------------------------------------------------

    def _start_heartbeat(self) -> None:
        from snakelab.store.heartbeat import HEARTBEAT

        HEARTBEAT.add(self, self.store.settings.flush_seconds)

    def _stop_heartbeat(self) -> None:
        from snakelab.store.heartbeat import HEARTBEAT

        HEARTBEAT.remove(self)

    def _finish(self, status: str, error: str | None, started: float) -> list[tuple[str, Path]]:
        """Hash outputs, write run.json, record the end state. Returns the outputs that were missing
        (a succeeded run with a missing output is recorded as failed)."""
        self._stop_heartbeat()
        outputs: list[ArtifactRef] = []
        missing: list[tuple[str, Path]] = []
        for role, (path, media) in sorted(self._artifacts.items()):
            try:
                digest = digest_file(path, f"output {role!r}")
            except FileNotFoundError:
                missing.append((role, path))
                if status == "succeeded":
                    status, error = "failed", f"output {role!r}: {path}: file not found"
                continue
            media = media or digest.media_type
            outputs.append(ArtifactRef(role, digest.path, digest.sha256, digest.size_bytes, media))
        now = utcnow()
        record = self.record
        record.status, record.error, record.outputs = status, error, outputs
        record.finished_at = record.heartbeat_at = now
        record.duration_s = time.monotonic() - started
        run_dir = self._run_dir or _common_parent([resolve_stored(ref.path) for ref in outputs])
        if run_dir is not None:
            write_run_json(run_dir, record)
        with self._lock:
            pending, self._pending = self._pending, {}
        updated = self.store.transaction(lambda s: _write_end(s, record, pending))
        if not updated:
            log.warning(
                "run %s: attempt %d was taken over by another process; its end state was not recorded",
                record.uid,
                record.attempt,
            )
        self._record = record
        return missing


def _common_parent(paths: list[Path]) -> Path | None:
    if not paths:
        return None
    return Path(os.path.commonpath([os.path.abspath(p.parent) for p in paths]))


@contextmanager
def record_run(
    store: Store,
    pipeline: str,
    kind: str,
    config: Mapping[str, Any] | None = None,
    seed: int | None = None,
    params: Mapping[str, Any] | None = None,
    inputs: Mapping[str, str | os.PathLike[str]] | None = None,
    parent: str | RunRecord | RunContext | None = None,
    name: str | None = None,
    run_dir: str | os.PathLike[str] | None = None,
) -> Iterator[RunContext]:
    """Record one unit of work in ``store`` (see the module docstring).

    ``inputs``: role → file (hashed now); ``parent``: the uid (or record/context) of the run this
    one continues; ``run_dir``: where ``run.json`` goes (default: the common directory of the
    outputs; no run.json for a run without outputs and without ``run_dir``).
    """
    config_dict = dict(config or {})
    params_dict = _checked_params(params)
    input_refs = []
    for role, path in sorted((inputs or {}).items()):
        digest = digest_file(path, f"input {role!r}")
        input_refs.append(ArtifactRef(role, digest.path, digest.sha256, digest.size_bytes, digest.media_type))
    config_hash = config_digest(config_dict)
    uid = run_uid(pipeline, kind, config_hash, [r.sha256 for r in input_refs], seed, params_dict)
    parent_uid = parent if isinstance(parent, str) or parent is None else parent.uid
    from snakelab.store.envinfo import environment

    now = utcnow()
    record = RunRecord(
        uid=uid,
        pipeline=pipeline,
        kind=kind,
        status="running",
        config_hash=config_hash,
        name=name,
        config=config_dict,
        params=params_dict,
        seed=seed,
        parent_uid=parent_uid,
        host=socket.gethostname(),
        pid=os.getpid(),
        slurm_job_id=os.environ.get("SLURM_JOB_ID"),
        started_at=now,
        heartbeat_at=now,
        env=environment(),
        inputs=input_refs,
    )
    started = time.monotonic()
    record.id, record.attempt = _claim(store, record)
    context = RunContext(store, record, Path(run_dir) if run_dir is not None else None)
    context._start_heartbeat()
    try:
        yield context
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:2000]
        try:
            context._finish("failed", message, started)
        except Exception as finish_exc:
            log.error("run %s: could not record the failure: %s", uid, finish_exc)
        raise
    missing = context._finish("succeeded", None, started)
    if missing:
        role, path = missing[0]
        raise FileNotFoundError(2, f"output {role!r} of run {uid} was logged but not written", str(path))


def _claim(store: Store, record: RunRecord) -> tuple[int, int]:
    """Insert the run, or take over a failed/stale/broken one; return ``(id, attempt)``.

    The common case (a new uid) is one transaction. A succeeded row sends us out of the transaction
    to check its outputs (file I/O), then back in to take it over if they are broken.
    """
    stale_after_s = store.settings.stale_after_s
    broken: tuple[str, int] | None = None
    for _ in range(_CLAIM_ATTEMPTS):
        outcome = store.transaction(lambda s, broken=broken: _claim_unit(s, record, broken, stale_after_s))
        if outcome[0] == "claimed":
            return outcome[1], outcome[2]
        if outcome[0] == "check":
            existing = store.find_run(record.uid)
            if existing is not None and existing.status == "succeeded":
                if outputs_intact(existing):
                    raise RunExists(existing)
                broken = (existing.status, existing.attempt)
    raise RunInProgress(f"run {record.uid}: its row kept changing while claiming it; another process runs it")


def _claim_unit(
    session: Session, record: RunRecord, broken: tuple[str, int] | None, stale_after_s: float
) -> tuple[Any, ...]:
    """One claiming transaction: ``("claimed", id, attempt)``, ``("check",)`` (a succeeded row whose
    outputs must be checked first) or ``("again",)`` (another process inserted it meanwhile)."""
    from sqlalchemy import delete, select, update

    from snakelab.store.models import Metric, Run, RunIO
    from snakelab.store.registry import insert_returning_id

    row = session.execute(
        select(Run.id, Run.status, Run.attempt, Run.host, Run.pid, Run.heartbeat_at)
        .where(Run.uid == record.uid)
        .with_for_update()
    ).one_or_none()
    values = {
        "pipeline": record.pipeline,
        "kind": record.kind,
        "name": record.name,
        "status": "running",
        "config": record.config,
        "config_hash": record.config_hash,
        "params": record.params,
        "seed": record.seed,
        "parent_id": _parent_id(session, record.parent_uid),
        "host": record.host,
        "pid": record.pid,
        "slurm_job_id": record.slurm_job_id,
        "started_at": record.started_at,
        "heartbeat_at": record.heartbeat_at,
        "finished_at": None,
        "duration_s": None,
        "error": None,
        "env": record.env,
    }
    if row is None:
        run_id = insert_returning_id(session, Run, {"uid": record.uid, "attempt": 1, **values})
        if run_id is None:
            return ("again",)
        link_artifacts(session, run_id, "in", record.inputs)
        return ("claimed", run_id, 1)
    if row.status == "succeeded" and broken != (row.status, row.attempt):
        return ("check",)
    if row.status == "running" and not is_stale(row.host, row.pid, row.heartbeat_at, stale_after_s):
        raise RunInProgress(
            f"run {record.uid} ({record.pipeline}/{record.kind}) is running on {row.host} pid {row.pid} "
            f"(attempt {row.attempt}, last heartbeat {row.heartbeat_at:%Y-%m-%dT%H:%M:%SZ})"
        )
    session.execute(delete(Metric).where(Metric.run_id == row.id))
    session.execute(delete(RunIO).where(RunIO.run_id == row.id))
    session.execute(
        update(Run).where(Run.id == row.id).values(attempt=row.attempt + 1, updated_at=utcnow(), **values)
    )
    log.info(
        "run %s: taking over %s attempt %d as attempt %d",
        record.uid,
        row.status,
        row.attempt,
        row.attempt + 1,
    )
    link_artifacts(session, row.id, "in", record.inputs)
    return ("claimed", row.id, row.attempt + 1)


def _parent_id(session: Session, parent_uid: str | None) -> int | None:
    if parent_uid is None:
        return None
    from sqlalchemy import select

    from snakelab.store.models import Run

    parent_id = session.scalar(select(Run.id).where(Run.uid == parent_uid))
    if parent_id is None:
        raise StoreError(f"parent run {parent_uid}: not found in the store")
    return parent_id


def link_artifacts(session: Session, run_id: int, direction: str, refs: list[ArtifactRef]) -> None:
    """Register the files ``refs`` (by path + sha256) and link them to run ``run_id`` under their roles."""
    from snakelab.store.models import Artifact, RunIO
    from snakelab.store.registry import get_or_create_id, upsert

    links = []
    for ref in refs:
        artifact_id, _ = get_or_create_id(
            session,
            Artifact,
            {"path": ref.path, "sha256": ref.sha256},
            {"size_bytes": ref.size_bytes, "media_type": ref.media_type},
        )
        links.append({"run_id": run_id, "artifact_id": artifact_id, "direction": direction, "role": ref.role})
    upsert(session, RunIO, links, key=("run_id", "direction", "role"), update=("artifact_id",))


def write_metrics(session: Session, run_id: int, values: Pending) -> None:
    """Upsert metric values of run ``run_id``: (name, split, step) → (value, prediction_id)."""
    from snakelab.store.models import Metric
    from snakelab.store.registry import upsert

    rows = [
        {"run_id": run_id, "name": n, "split": s, "step": st, "value": v, "prediction_id": p}
        for (n, s, st), (v, p) in values.items()
    ]
    upsert(session, Metric, rows, key=("run_id", "name", "split", "step"), update=("value", "prediction_id"))


def _write_progress(
    session: Session,
    record: RunRecord,
    pending: Pending,
    heartbeat: bool,
) -> None:
    from sqlalchemy import update

    from snakelab.store.models import Run

    if heartbeat:
        session.execute(
            update(Run)
            .where(Run.id == record.id, Run.attempt == record.attempt, Run.status == "running")
            .values(heartbeat_at=utcnow())
        )
    write_metrics(session, record.id or 0, pending)


def _write_end(session: Session, record: RunRecord, pending: Pending) -> bool:
    """The final transaction; ``False`` (nothing written) when another process took the run over."""
    from sqlalchemy import update

    from snakelab.store.models import Run

    result = session.execute(
        update(Run)
        .where(Run.id == record.id, Run.attempt == record.attempt)
        .values(
            status=record.status,
            error=record.error,
            finished_at=record.finished_at,
            heartbeat_at=record.heartbeat_at,
            duration_s=record.duration_s,
        )
    )
    if result.rowcount != 1:
        return False
    _write_progress(session, record, pending, heartbeat=False)
    link_artifacts(session, record.id or 0, "out", record.outputs)
    return True
