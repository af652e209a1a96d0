"""The data model of spec §3: tables, common columns, keys, no binary columns, JSONB on PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import JSON, Index, LargeBinary, PickleType, UniqueConstraint, inspect, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable

from snakelab.store.models import (
    Algorithm,
    Base,
    Dataset,
    Fold,
    Hyperparamcombo,
    Hyperparamset,
    Job,
    Metric,
    Prediction,
    Predictor,
    Queue,
    Run,
    Splitset,
)
from snakelab.store.registry import get_or_create, insert_ignore

#: spec §3 "keys": table → the unique keys (column tuples) it must have, no more, no fewer.
UNIQUE_KEYS = {
    "dataset": {("name", "version"), ("content_hash", "typ")},  # the second: partial, WHERE name IS NULL
    "feature": set(),
    "label": set(),
    "feature_interpolater": {("feature_id", "idx")},
    "label_interpolater": {("label_id",)},
    "label_coder": {("label_id",)},
    "feature_coder": {("feature_id", "idx")},
    "feature_shaper": {("feature_id",)},
    "window": {("feature_id",)},
    "splitset": {("spec_hash", "split_seed", "fold_seed")},
    "splitset_feature": set(),
    "fold": {("splitset_id", "idx")},
    "algorithm": {("algorithm_hash",)},
    "hyperparamset": set(),
    "hyperparamcombo": {("hyperparamset_id", "idx")},
    "queue": {("experiment", "config_hash")},
    "job": {("queue_id", "combo_idx", "fold_idx")},
    "predictor": {("job_id", "repeat_index")},
    "prediction": {("predictor_id", "infer_idx")},
    "run": {("uid",)},
    "artifact": {("path", "sha256")},
    "run_io": {("run_id", "direction", "role")},
    "metric": {("run_id", "name", "split", "step")},
}
COMMON = {"id", "created_at", "updated_at", "name", "description", "is_starred"}


def _unique_keys(table) -> set[tuple[str, ...]]:
    keys = {tuple(c.name for c in u.columns) for u in table.constraints if isinstance(u, UniqueConstraint)}
    keys |= {tuple(c.name for c in i.columns) for i in table.indexes if isinstance(i, Index) and i.unique}
    return keys


def test_every_table_and_its_unique_keys() -> None:
    tables = Base.metadata.tables
    assert set(tables) == set(UNIQUE_KEYS)
    assert {name: _unique_keys(t) for name, t in tables.items()} == UNIQUE_KEYS


def test_unique_keys_hold_no_nullable_foreign_key() -> None:
    for table in Base.metadata.tables.values():
        for key in _unique_keys(table):
            for column in key:
                col = table.c[column]
                assert not (col.foreign_keys and col.nullable), f"{table.name}.{column}"


def test_common_columns_everywhere_but_the_association_table() -> None:
    for name, table in Base.metadata.tables.items():
        if name == "splitset_feature":
            assert [c.name for c in table.primary_key.columns] == ["splitset_id", "position"]
            continue
        assert set(table.c.keys()) >= COMMON, name
        assert [c.name for c in table.primary_key.columns] == ["id"]
    assert not Metric.__table__.c["name"].nullable  # the metric's own name
    assert Run.__table__.c["name"].nullable


def test_no_binary_or_pickle_columns() -> None:
    for table in Base.metadata.tables.values():
        for column in table.columns:
            assert not isinstance(column.type, (LargeBinary, PickleType)), f"{table.name}.{column.name}"


def test_no_blob_column_in_the_migrated_database(store) -> None:
    inspector = inspect(store.engine)
    types = {str(c["type"]).upper() for t in inspector.get_table_names() for c in inspector.get_columns(t)}
    assert not {t for t in types if "BLOB" in t or "BINARY" in t or "BYTEA" in t}
    assert {"JSON", "BIGINT", "DOUBLE", "TEXT"} <= types


def test_indexes_of_spec_3() -> None:
    names = {
        i.name: (tuple(c.name for c in i.columns), i.unique) for i in Base.metadata.tables["dataset"].indexes
    }
    assert names["ix_dataset_content_hash"] == (("content_hash",), False)
    assert names["uq_dataset_unnamed_content"] == (("content_hash", "typ"), True)
    assert {i.name for i in Base.metadata.tables["metric"].indexes} == {"ix_metric_name"}


def test_json_columns_are_jsonb_on_postgresql() -> None:
    ddl = str(CreateTable(Run.__table__).compile(dialect=postgresql.dialect()))
    assert "config JSONB" in ddl and "env JSONB" in ddl and "TIMESTAMP WITH TIME ZONE" in ddl
    json_columns = [c for t in Base.metadata.tables.values() for c in t.columns if isinstance(c.type, JSON)]
    assert len(json_columns) == 44
    for table in Base.metadata.tables.values():
        assert not re.search(r"\bJSON\b", str(CreateTable(table).compile(dialect=postgresql.dialect())))


def _experiment(session) -> tuple[Queue, Job, Prediction]:
    dataset = Dataset(
        typ="tabular",
        source_format="dataframe",
        is_ingested=True,
        content_hash="a" * 64,
        shape={"samples": 3},
    )
    splitset = Splitset(
        supervision="supervised",
        has_validation=False,
        key_train="train",
        split_seed=4_000_000_000,
        fold_seed=1,
        samples={"train": [0, 1]},
        sizes={},
        spec_hash="s" * 64,
    )
    algorithm = Algorithm(library="sklearn", analysis_type="regression", algorithm_hash="h" * 64)
    hyperparamset = Hyperparamset(
        algorithm=algorithm,
        hyperparameters={"b": [1, 2], "a": [3]},
        search_seed=7,
        grid_count=2,
        combo_count=2,
    )
    combo = Hyperparamcombo(
        hyperparamset=hyperparamset, idx=0, grid_index=0, hyperparameters={"b": 1, "a": 3}
    )
    fold = Fold(splitset=splitset, idx=0, samples={"folds_train_combined": [0]})
    queue = Queue(
        algorithm=algorithm,
        splitset=splitset,
        hyperparamset=hyperparamset,
        experiment="e",
        config_hash="c" * 64,
        total_runs=2,
    )
    job = Job(queue=queue, hyperparamcombo=combo, fold=fold, combo_idx=0, fold_idx=0)
    run = Run(uid="0" * 20, pipeline="tabular", kind="train", status="succeeded", config_hash="c" * 64)
    predictors = [
        Predictor(job=job, repeat_index=r, run=run if r == 0 else None, seed=r, status=s)
        for r, s in ((0, "succeeded"), (1, "failed"))
    ]
    prediction = Prediction(predictor=predictors[0])
    session.add_all([dataset, prediction, *predictors])
    session.flush()
    session.add_all(
        [
            Metric(run_id=run.id, prediction_id=prediction.id, name="accuracy", split="test", value=0.9),
            Metric(run_id=run.id, prediction_id=prediction.id, name="accuracy", split="train", value=1.0),
            Metric(run_id=run.id, prediction_id=prediction.id, name="loss", split="test", value=None),
        ]
    )
    return queue, job, prediction


def test_models_round_trip_and_derived_attributes(store) -> None:
    ids = store.transaction(lambda s: tuple(o.id for o in _experiment(s)))
    with store.read() as session:
        queue = session.get(Queue, ids[0])
        assert queue.runs_completed == 1  # a query over predictors, not a counter
        assert list(queue.hyperparamset.hyperparameters) == ["b", "a"]  # key order kept
        assert queue.splitset.split_seed == 4_000_000_000  # uint32 seeds need 64-bit columns
        assert queue.splitset.created_at.tzinfo is not None
        prediction = session.get(Prediction, ids[2])
        assert prediction.infer_idx == -1
        assert prediction.metrics == {"test": {"accuracy": 0.9, "loss": None}, "train": {"accuracy": 1.0}}


def test_get_or_create_is_idempotent(store) -> None:
    def register(session):
        return get_or_create(
            session,
            Algorithm,
            {"algorithm_hash": "x" * 64},
            {"library": "keras", "analysis_type": "regression"},
        )

    first, created = store.transaction(register)
    second, created_again = store.transaction(register)
    assert (created, created_again) == (True, False)
    assert first.id == second.id
    assert (
        store.transaction(
            lambda s: insert_ignore(
                s, Algorithm, {"algorithm_hash": "x" * 64, "library": "keras", "analysis_type": "regression"}
            )
        )
        is False
    )
    with store.read() as session:
        assert len(session.scalars(select(Algorithm)).all()) == 1
