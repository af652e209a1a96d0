"""Re-index ``run.json`` files into a store (``snakelab store rebuild --from DIR``): the files are the truth.

Runs already in the store (same uid) are left as they are; new ones are inserted with their inputs,
outputs and metrics, then parents are linked once every run of the tree is in.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from snakelab.store.errors import StoreError
from snakelab.store.record import RUN_JSON, RunRecord, read_run_json

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from snakelab.store.core import Store

log = logging.getLogger("snakelab.store")
_BATCH = 200


@dataclass
class RebuildReport:
    """What a rebuild found: run.json files, runs added, runs already present, parents not found."""

    files: int = 0
    added: int = 0
    present: int = 0
    duplicates: int = 0
    missing_parents: list[str] = field(default_factory=list)


def find_run_files(directory: str | os.PathLike[str]) -> list[Path]:
    """Every ``run.json`` under ``directory``, sorted (hidden temporary directories skipped)."""
    root = Path(directory)
    if not root.is_dir():
        raise StoreError(f"{directory}: --from: expected a directory of results holding run.json files")
    return sorted(p for p in root.rglob(RUN_JSON) if not any(part.startswith(".") for part in p.parts[-3:-1]))


def rebuild(store: Store, directory: str | os.PathLike[str]) -> RebuildReport:
    """Insert the runs recorded in the ``run.json`` files under ``directory`` into ``store``."""
    files = find_run_files(directory)
    report = RebuildReport(files=len(files))
    records: dict[str, RunRecord] = {}
    for path in files:
        record = read_run_json(path)
        if record.uid in records:
            report.duplicates += 1
            log.warning("%s: run %s already read from another run.json; skipped", path, record.uid)
            continue
        records[record.uid] = record
    batch = list(records.values())
    for start in range(0, len(batch), _BATCH):
        added = store.transaction(lambda s, part=batch[start : start + _BATCH]: _insert_runs(s, part))
        report.added += added
    report.present = len(records) - report.added
    report.missing_parents = store.transaction(lambda s: _link_parents(s, batch))
    return report


def _insert_runs(session: Session, records: list[RunRecord]) -> int:
    from sqlalchemy import select

    from snakelab.store.lineage import link_artifacts, write_metrics
    from snakelab.store.models import Run
    from snakelab.store.registry import insert_ignore

    added = 0
    for r in records:
        values = {
            "uid": r.uid,
            "pipeline": r.pipeline,
            "kind": r.kind,
            "name": r.name,
            "status": r.status,
            "attempt": r.attempt,
            "config": r.config,
            "config_hash": r.config_hash,
            "params": r.params,
            "seed": r.seed,
            "host": r.host,
            "pid": r.pid,
            "slurm_job_id": r.slurm_job_id,
            "started_at": r.started_at,
            "heartbeat_at": r.heartbeat_at,
            "finished_at": r.finished_at,
            "duration_s": r.duration_s,
            "error": r.error,
            "env": r.env,
        }
        if not insert_ignore(session, Run, values):
            continue
        run_id = session.scalar(select(Run.id).where(Run.uid == r.uid))
        assert run_id is not None
        link_artifacts(session, run_id, "in", r.inputs)
        link_artifacts(session, run_id, "out", r.outputs)
        write_metrics(session, run_id, {(m.name, m.split, m.step): (m.value, None) for m in r.metrics})
        added += 1
    return added


def _link_parents(session: Session, records: list[RunRecord]) -> list[str]:
    from sqlalchemy import select, update

    from snakelab.store.models import Run

    missing = []
    for r in records:
        if r.parent_uid is None:
            continue
        parent_id = session.scalar(select(Run.id).where(Run.uid == r.parent_uid))
        if parent_id is None:
            missing.append(r.parent_uid)
            continue
        session.execute(
            update(Run).where(Run.uid == r.uid, Run.parent_id.is_(None)).values(parent_id=parent_id)
        )
    return missing
