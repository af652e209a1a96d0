"""Store URLs: which one applies, what it points to, and how it is shown in logs.

Resolution order (spec §2), first one set wins: the ``--store URL`` flag, the environment variable
``SNAKELAB_STORE_URL``, the config's ``store.url``, then ``sqlite:///results/snakelab.sqlite``
(relative to the working directory). Standard library only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snakelab.store.errors import StoreConfigError

DEFAULT_URL = "sqlite:///results/snakelab.sqlite"
ENV_VAR = "SNAKELAB_STORE_URL"

_PASSWORD_IN_NETLOC = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://[^:/@?#]*):([^@/?#]*)@")
_PASSWORD_IN_QUERY = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


@dataclass(frozen=True)
class ResolvedURL:
    """A store URL and its source: ``--store``, ``SNAKELAB_STORE_URL``, ``store.url`` or ``default``."""

    url: str
    source: str

    @property
    def masked(self) -> str:
        """The URL with any password replaced by ``***`` (for logs and messages)."""
        return mask_url(self.url)


def resolve_url(
    flag: str | None = None,
    store_config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ResolvedURL:
    """The store URL to use, normalised (see :func:`normalise_url`), with its source.

    ``flag``: the ``--store`` value; ``store_config``: the config's ``store`` section;
    ``environ``: the environment (default ``os.environ``). Empty strings count as unset.
    """
    env = os.environ if environ is None else environ
    config_url = None if store_config is None else store_config.get("url")
    for value, source in (
        (flag, "--store"),
        (env.get(ENV_VAR), ENV_VAR),
        (config_url, "store.url"),
        (DEFAULT_URL, "default"),
    ):
        if value:
            if not isinstance(value, str):
                raise StoreConfigError(f"{source}: expected a URL string, got {value!r}")
            return ResolvedURL(normalise_url(value, source), source)
    raise AssertionError("unreachable: the default URL is always set")


def normalise_url(url: str, source: str = "store URL") -> str:
    """Check ``url`` and pick the driver: ``postgresql://``/``postgres://`` → ``postgresql+psycopg://``.

    Accepted: ``sqlite:///<path>`` (relative to the working directory) or ``sqlite:////<abs path>``,
    and ``postgresql[+psycopg]://…``. Anything else raises :class:`StoreConfigError` naming ``source``.
    """
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("postgresql+psycopg://"):
        return url
    if url.startswith(("sqlite://", "sqlite+pysqlite://")):
        path = url.split("://", 1)[1].split("?", 1)[0][1:]
        if not path or path == ":memory:":
            raise StoreConfigError(
                f"{source}: {mask_url(url)}: expected a database file (sqlite:///path/to/store.sqlite); "
                "an in-memory SQLite store cannot be shared between jobs"
            )
        return url
    raise StoreConfigError(
        f"{source}: {mask_url(url)}: expected sqlite:///<file> or postgresql://user@host/db"
    )


def mask_url(url: str) -> str:
    """``url`` with the password (user:password@ or ?password=) replaced by ``***``."""
    return _PASSWORD_IN_QUERY.sub(r"\1***", _PASSWORD_IN_NETLOC.sub(r"\1:***@", url))


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names a SQLite database."""
    return url.startswith("sqlite")


def sqlite_path(url: str) -> Path:
    """The database file of a ``sqlite:///`` URL (relative paths stay relative to the working directory)."""
    return Path(url.split(":///", 1)[1].split("?", 1)[0])
