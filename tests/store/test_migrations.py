"""Alembic migrations: upgrade on an empty file matches the models; downgrade/upgrade; revision checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from snakelab.store.core import open_store
from snakelab.store.errors import SchemaMismatch, StoreNotInitialised
from snakelab.store.models import Base
from snakelab.store.schema import HEAD_REVISION, downgrade, script_directory, upgrade

TABLES = {
    "algorithm",
    "artifact",
    "dataset",
    "feature",
    "feature_coder",
    "feature_interpolater",
    "feature_shaper",
    "fold",
    "hyperparamcombo",
    "hyperparamset",
    "job",
    "label",
    "label_coder",
    "label_interpolater",
    "metric",
    "prediction",
    "predictor",
    "queue",
    "run",
    "run_io",
    "splitset",
    "splitset_feature",
    "window",
}


def _diff(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, Base.metadata)


def test_head_constant_is_alembics_head() -> None:
    assert script_directory().get_current_head() == HEAD_REVISION == "0002"


def test_upgrade_on_empty_file_matches_the_models(sqlite_url: str, workdir: Path) -> None:
    (workdir / "store.sqlite").touch()
    store = open_store(sqlite_url, create=True)
    engine = store.raw_engine()
    assert upgrade(engine, sqlite_url) == "0002"
    assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    assert _diff(engine) == []
    # the comparison does see a difference: drop an index the models declare
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_metric_name"))
    assert [d[0] for d in _diff(engine)] == ["add_index"]


def test_downgrade_base_then_upgrade_head(sqlite_url: str) -> None:
    store = open_store(sqlite_url, create=True)
    engine = store.raw_engine()
    upgrade(engine, sqlite_url)
    assert downgrade(engine, sqlite_url, "base") is None
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    assert upgrade(engine, sqlite_url) == "0002"
    assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    assert _diff(engine) == []


def test_writer_creates_and_migrates_once(sqlite_url: str, workdir: Path) -> None:
    store = open_store(sqlite_url, create=True)
    assert not (workdir / "store.sqlite").exists()  # lazy: nothing until first use
    store.ensure_schema()
    assert store.current_revision() == "0002"
    again = open_store(sqlite_url, create=True)
    again.ensure_schema()  # at head: short-circuits
    assert again.current_revision() == "0002"


def test_reader_of_a_file_without_schema_is_not_initialised(workdir: Path) -> None:
    (workdir / "empty.sqlite").touch()
    store = open_store(f"sqlite:///{workdir / 'empty.sqlite'}")
    with pytest.raises(
        StoreNotInitialised,
        match=r"store not initialised at sqlite:///.*empty\.sqlite; run 'snakelab store init'",
    ):
        store.ensure_schema()


def test_schema_newer_than_the_code_is_refused(store, sqlite_url: str) -> None:
    with store.raw_engine().begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0042'"))
    for create in (False, True):
        with pytest.raises(
            SchemaMismatch, match=r"^store schema 0042 is newer than this snakelab \(head 0002\)"
        ):
            open_store(sqlite_url, create=create).ensure_schema()


def test_a_real_older_database_asks_for_the_migration_then_upgrades(sqlite_url: str, capsys) -> None:
    """A file at revision 0001 (before the inference indexes of 0002), opened by this code."""
    from snakelab.cli import main

    engine = open_store(sqlite_url, create=True).raw_engine()
    assert upgrade(engine, sqlite_url, "0001") == "0001"
    assert "ix_splitset_predictor_id" not in {i["name"] for i in inspect(engine).get_indexes("splitset")}
    engine.dispose()
    strict = open_store(sqlite_url, create=True, config={"auto_upgrade": False})
    with pytest.raises(
        SchemaMismatch,
        match=r"^store schema 0001 is older than this snakelab \(head 0002\): sqlite:///.*store\.sqlite "
        r"\(store.auto_upgrade is false\); run 'snakelab store upgrade'$",
    ):
        strict.ensure_schema()
    assert strict.current_revision() == "0001"  # nothing was changed
    strict.dispose()
    assert main(["store", "upgrade", "--store", sqlite_url]) == 0
    capsys.readouterr()
    upgraded = open_store(sqlite_url, create=True, config={"auto_upgrade": False})
    upgraded.ensure_schema()
    assert upgraded.current_revision() == "0002"
    engine = upgraded.raw_engine()
    assert "ix_splitset_predictor_id" in {i["name"] for i in inspect(engine).get_indexes("splitset")}
    assert _diff(engine) == []


def test_a_writer_may_upgrade_a_real_older_database(sqlite_url: str) -> None:
    engine = open_store(sqlite_url, create=True).raw_engine()
    upgrade(engine, sqlite_url, "0001")
    engine.dispose()
    writer = open_store(sqlite_url, create=True)  # store.auto_upgrade defaults to true
    writer.ensure_schema()
    assert writer.current_revision() == "0002" and _diff(writer.raw_engine()) == []


def test_an_older_schema_is_upgraded_only_by_writers_that_may(monkeypatch: pytest.MonkeyPatch) -> None:
    import snakelab.store.schema as schema

    monkeypatch.setattr(schema, "HEAD_REVISION", "0003")
    monkeypatch.setattr(schema, "is_known_revision", lambda revision: True)
    url = "postgresql+psycopg://me:pw@db/store"
    assert schema.check_revision("0003", url, auto_upgrade=True, writable=False) is False
    assert schema.check_revision(None, url, auto_upgrade=False, writable=True) is True
    assert schema.check_revision("0001", url, auto_upgrade=True, writable=True) is True
    older = r"^store schema 0001 is older than this snakelab \(head 0003\): postgresql\+psycopg://me:\*\*\*@db/store"
    with pytest.raises(
        SchemaMismatch, match=older + r" \(store.auto_upgrade is false\); run 'snakelab store upgrade'$"
    ):
        schema.check_revision("0001", url, auto_upgrade=False, writable=True)
    with pytest.raises(SchemaMismatch, match=older + r" \(opened read-only\)"):
        schema.check_revision("0001", url, auto_upgrade=True, writable=False)
