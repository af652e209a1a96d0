"""Fixtures of the tabular tests: a fresh SQLite store in the test's directory, and iris registered in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from snakelab.store.core import Store, open_store
from snakelab.tabular.datasets import Dataset


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A created store at ``tmp_path/store.sqlite`` with ``tmp_path`` as working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SNAKELAB_STORE_URL", raising=False)
    opened = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}", create=True)
    yield opened
    opened.dispose()


@pytest.fixture
def iris(store: Store) -> Dataset:
    """scikit-learn's iris registered (ingested) in ``store`` as dataset ``iris``."""
    return Dataset.tabular("sklearn:iris", name="iris", store=store)
