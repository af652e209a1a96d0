"""The ``store:`` section of the config: defaults, validation and the typed settings object.

Standard library only, so the CLI and the Snakefile can read it cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from snakelab.store.errors import StoreConfigError


@dataclass(frozen=True)
class StoreSettings:
    """Tuning of a store (spec §11). ``url`` is resolved separately (:mod:`snakelab.store.url`).

    Attributes
    ----------
    data_dir:
        Directory for ingested datasets (``<data_dir>/datasets/<h[:2]>/<h>.parquet``).
    busy_timeout_ms:
        SQLite ``busy_timeout`` in milliseconds: how long one statement waits for a lock.
    retry_seconds:
        Seconds a unit of work is retried on a locked/busy/lost database before ``StoreBusyError``.
    flush_seconds:
        Seconds between flushes of a running unit's buffered metrics and heartbeat.
    stale_after_s:
        Seconds without a heartbeat after which a ``running`` run may be taken over.
    auto_upgrade:
        Writers upgrade an older schema to head; ``False`` makes an older schema an error.
    allow_network_fs:
        Allow a SQLite file on nfs/lustre/gpfs/cifs/beegfs/ceph (unsafe locking).
    pool:
        PostgreSQL pool: ``"default"`` (pool_size 1, max_overflow 2) or ``None`` (NullPool, pgbouncer).
    """

    data_dir: str = "results/store-data"
    busy_timeout_ms: int = 60000
    retry_seconds: float = 300.0
    flush_seconds: float = 30.0
    stale_after_s: float = 3600.0
    auto_upgrade: bool = True
    allow_network_fs: bool = False
    pool: str | None = "default"

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> StoreSettings:
        """Settings from a config's ``store`` section (``url`` is ignored here); missing keys default.

        Raises :class:`StoreConfigError` naming the key for an unknown key or a value of the wrong type.
        """
        if section is None:
            return cls()
        if not isinstance(section, Mapping):
            raise StoreConfigError(f"store: expected a mapping of settings, got {type(section).__name__}")
        known = {f.name for f in fields(cls)} | {"url"}
        unknown = sorted(set(section) - known)
        if unknown:
            raise StoreConfigError(f"store.{unknown[0]}: unknown setting; expected one of {sorted(known)}")
        values: dict[str, Any] = {}
        for key in ("busy_timeout_ms",):
            if key in section:
                values[key] = _integer(section[key], key, minimum=0)
        for key in ("retry_seconds", "flush_seconds", "stale_after_s"):
            if key in section:
                values[key] = _number(section[key], key)
        for key in ("auto_upgrade", "allow_network_fs"):
            if key in section:
                if not isinstance(section[key], bool):
                    raise StoreConfigError(f"store.{key}: expected true or false, got {section[key]!r}")
                values[key] = section[key]
        if "data_dir" in section:
            data_dir = section["data_dir"]
            if not isinstance(data_dir, str) or not data_dir:
                raise StoreConfigError(f"store.data_dir: expected a directory path, got {data_dir!r}")
            values["data_dir"] = data_dir
        if "pool" in section:
            if section["pool"] not in ("default", None):
                raise StoreConfigError(f"store.pool: expected 'default' or null, got {section['pool']!r}")
            values["pool"] = section["pool"]
        return cls(**values)


def _integer(value: Any, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise StoreConfigError(f"store.{key}: expected an integer >= {minimum}, got {value!r}")
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise StoreConfigError(f"store.{key}: expected a number of seconds >= 0, got {value!r}")
    return float(value)
