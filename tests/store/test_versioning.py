"""Race-free dataset versions (spec §4 "Versioning") on SQLite."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from snakelab.store.errors import DatasetConflict, StoreError
from snakelab.store.models import Dataset
from snakelab.store.versioning import dataset_lock_key, ingested_path, register_dataset
from tests.store.datasets import dataset_values, race


def test_same_content_reuses_new_content_adds_a_version(store, caplog: pytest.LogCaptureFixture) -> None:
    v1, created1 = register_dataset(store, dataset_values("one"))
    with caplog.at_level(logging.INFO, logger="snakelab.store"):
        again, created2 = register_dataset(store, dataset_values("one"))
    assert (created1, created2) == (True, False)
    assert (again.id, again.version) == (v1.id, 1)
    assert f"identical content: reusing dataset iris v1 (id {v1.id})" in caplog.text
    v2, _ = register_dataset(store, dataset_values("two"))
    v3, _ = register_dataset(store, dataset_values("one"))  # back to old content: only the latest is compared
    assert (v2.version, v3.version) == (2, 3)
    other, _ = register_dataset(store, dataset_values("one", name="wine"))
    assert other.version == 1


def test_a_name_keeps_its_typ(store) -> None:
    register_dataset(store, dataset_values("one"))
    with pytest.raises(
        DatasetConflict, match=r"dataset iris: already registered as typ tabular .*got sequence"
    ):
        register_dataset(store, dataset_values("seq", typ="sequence"))


def test_unnamed_datasets_are_deduplicated_by_content_and_typ(store) -> None:
    a, created_a = register_dataset(store, dataset_values("x", name=None))
    b, created_b = register_dataset(store, dataset_values("x", name=None))
    c, _ = register_dataset(store, dataset_values("x", name=None, typ="image"))
    named, _ = register_dataset(store, dataset_values("x", name="named"))
    assert (created_a, created_b) == (True, False)
    assert a.id == b.id and len({a.id, c.id, named.id}) == 3
    with store.read() as session:
        assert len(session.scalars(select(Dataset)).all()) == 3


def test_bad_values_are_refused(store) -> None:
    values = dataset_values("x")
    del values["content_hash"]
    with pytest.raises(StoreError, match="dataset iris: missing content_hash"):
        register_dataset(store, values)
    with pytest.raises(StoreError, match="'version' and 'id' are assigned by the store"):
        register_dataset(store, {**dataset_values("x"), "version": 4})


def test_layout_and_lock_key() -> None:
    h = "ab" + "0" * 62
    assert (
        ingested_path("results/store-data", h, ".parquet").as_posix()
        == f"results/store-data/datasets/ab/{h}.parquet"
    )
    assert dataset_lock_key("iris") == dataset_lock_key("iris") != dataset_lock_key("wine")
    assert -(2**63) <= dataset_lock_key("iris") < 2**63


@pytest.mark.slow
def test_concurrent_registrations_on_sqlite(sqlite_url: str) -> None:
    # 4 processes at once register the same content: one row, version 1, created once
    same = race(sqlite_url, [["same"]] * 4)
    assert sorted((version, created) for _, version, created in same) == [
        (1, False),
        (1, False),
        (1, False),
        (1, True),
    ]
    # then each its own content at once: four new versions, no two alike
    own = race(sqlite_url, [[f"own-{i}"] for i in range(4)])
    assert sorted(version for _, version, _ in own) == [2, 3, 4, 5]
