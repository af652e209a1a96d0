"""Fixtures of the store tests: a clean working directory and a fresh SQLite store in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from snakelab.store.core import Store, open_store


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_path`` as the working directory, with no store URL in the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SNAKELAB_STORE_URL", raising=False)
    return tmp_path


@pytest.fixture
def sqlite_url(workdir: Path) -> str:
    """URL of a not-yet-created SQLite store in the working directory."""
    return f"sqlite:///{workdir / 'store.sqlite'}"


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    """A created, migrated SQLite store (flushes every 30 s, i.e. only at the end of short units)."""
    opened = open_store(sqlite_url, create=True)
    opened.ensure_schema()
    yield opened
    opened.dispose()
