"""Race-free dataset versions (spec §4 "Versioning"): the store side of ``Dataset.tabular`` & co.

With a name: if the latest version has the same content hash (and typ), that row is reused;
otherwise a row with version = max + 1 is inserted. Both happen in one unit of work that holds the
write lock (SQLite ``BEGIN IMMEDIATE``; PostgreSQL an advisory lock on the name), so concurrent
registrations never produce two rows with the same version nor two versions of the same content.
Without a name: a row with the same content hash, typ and no name is reused (a partial unique index
backs this on both backends).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snakelab.store.errors import DatasetConflict, StoreError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from snakelab.store.core import Store
    from snakelab.store.models import Dataset

log = logging.getLogger("snakelab.store")
_REQUIRED = ("typ", "source_format", "is_ingested", "content_hash", "shape")


def dataset_lock_key(name: str) -> int:
    """The PostgreSQL advisory-lock key (signed 64-bit) that serialises versions of dataset ``name``."""
    digest = hashlib.sha256(b"snakelab-dataset\0" + name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def ingested_path(data_dir: str | Path, content_hash: str, suffix: str) -> Path:
    """Where ingested data lives: ``<data_dir>/datasets/<h[:2]>/<h><suffix>`` (content-addressed)."""
    return Path(data_dir) / "datasets" / content_hash[:2] / f"{content_hash}{suffix}"


def register_dataset(store: Store, values: Mapping[str, Any]) -> tuple[Dataset, bool]:
    """Insert a dataset version, or return the identical one; ``(row, created)``.

    ``values``: the ``dataset`` columns except ``id``, ``version`` and the timestamps; at least
    ``typ, source_format, is_ingested, content_hash, shape``; ``name`` may be ``None``. Raises
    :class:`DatasetConflict` when ``name`` is registered with another ``typ``. The returned row is
    detached from its session (its attributes stay loaded).
    """
    missing = [key for key in _REQUIRED if values.get(key) is None]
    if missing:
        raise StoreError(f"dataset {values.get('name')}: missing {', '.join(missing)}; expected {_REQUIRED}")
    if "version" in values or "id" in values:
        raise StoreError("dataset: 'version' and 'id' are assigned by the store; leave them out")
    row, created = store.transaction(lambda session: _register(session, dict(values)))
    if not created:
        label = f"{row.name} v{row.version}" if row.name is not None else f"<unnamed> {row.content_hash[:12]}"
        log.info("identical content: reusing dataset %s (id %d)", label, row.id)
    return row, created


def _register(session: Session, values: dict[str, Any]) -> tuple[Dataset, bool]:
    from sqlalchemy import select, text

    from snakelab.store.models import Dataset
    from snakelab.store.registry import insert_ignore

    name, typ, content_hash = values.get("name"), values["typ"], values["content_hash"]
    if name is None:
        same = select(Dataset).where(
            Dataset.name.is_(None), Dataset.content_hash == content_hash, Dataset.typ == typ
        )
        existing = session.scalars(same).first()
        if existing is not None:
            return existing, False
        created = insert_ignore(session, Dataset, {**values, "version": 1})
        return session.scalars(same).one(), created
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": dataset_lock_key(name)})
    latest = session.scalars(
        select(Dataset).where(Dataset.name == name).order_by(Dataset.version.desc()).limit(1)
    ).first()
    if latest is not None and latest.typ != typ:
        raise DatasetConflict(
            f"dataset {name}: already registered as typ {latest.typ} (v{latest.version}, id {latest.id}); "
            f"expected typ {latest.typ}, got {typ}; register it under another name"
        )
    if latest is not None and latest.content_hash == content_hash:
        return latest, False
    row = Dataset(**values, version=1 if latest is None else latest.version + 1)
    session.add(row)
    session.flush()
    return row, True
