"""Re-hash the files a store indexes and report the missing and changed ones (``snakelab store verify``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from snakelab.store.files import resolve_stored, sha256_file

if TYPE_CHECKING:
    from snakelab.store.core import Store

#: the three outcomes of checking one file.
OK, MISSING, CHANGED = "ok", "missing", "changed"


@dataclass(frozen=True)
class FileCheck:
    """One artefact of one run: ``status`` ok | missing | changed, with the recorded and found sha256."""

    run_uid: str
    direction: str
    role: str
    path: str
    status: str
    expected_sha256: str
    actual_sha256: str | None


def verify_runs(
    store: Store, uids: Sequence[str] | None = None, root: str | os.PathLike[str] | None = None
) -> list[FileCheck]:
    """Check every input and output of the runs ``uids`` (``None``: all runs).

    Relative paths are resolved from ``root`` (default: the working directory). A file whose size
    differs is reported changed without being hashed.
    """
    from sqlalchemy import select

    from snakelab.store.models import Run
    from snakelab.store.record import record_of

    with store.read() as session:
        query = select(Run).order_by(Run.id)
        if uids is not None:
            query = query.where(Run.uid.in_(list(uids)))
        records = [record_of(session, run) for run in session.scalars(query)]
    checks = []
    for record in records:
        for direction, refs in (("in", record.inputs), ("out", record.outputs)):
            for ref in refs:
                path = resolve_stored(ref.path, root)
                if not path.is_file():
                    status, actual = MISSING, None
                elif path.stat().st_size != ref.size_bytes:
                    status, actual = CHANGED, None
                else:
                    actual = sha256_file(path)
                    status = OK if actual == ref.sha256 else CHANGED
                checks.append(
                    FileCheck(record.uid, direction, ref.role, ref.path, status, ref.sha256, actual)
                )
    return checks
