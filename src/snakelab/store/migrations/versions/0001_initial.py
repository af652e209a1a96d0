"""Initial schema: every table of spec §3 (datasets, preprocessing, splits, experiments, lineage).

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Written out in full (not derived from the models at run time), so later model changes never alter
what this revision creates; a test compares the upgraded database with ``Base.metadata``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANALYSIS_TYPES = ("classification_binary", "classification_multi", "regression")
#: tables in creation order (parents first); dropped in reverse.
TABLES = (
    "algorithm",
    "artifact",
    "dataset",
    "run",
    "feature",
    "hyperparamset",
    "label",
    "run_io",
    "feature_coder",
    "feature_interpolater",
    "feature_shaper",
    "hyperparamcombo",
    "label_coder",
    "label_interpolater",
    "splitset",
    "window",
    "fold",
    "queue",
    "splitset_feature",
    "job",
    "predictor",
    "prediction",
    "metric",
)


def _json(name: str, nullable: bool = True) -> sa.Column[Any]:
    kind = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
    return sa.Column(name, kind, nullable=nullable)


def _text(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _sha(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.String(64), nullable=nullable)


def _int(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _bigint(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def _float(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.Float(), nullable=nullable)


def _bool(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Boolean(), nullable=nullable)


def _time(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, referred: str, nullable: bool = False) -> tuple[sa.Column[Any], Any]:
    return _int(column, nullable), sa.ForeignKeyConstraint(
        [column], [f"{referred}.id"], name=f"fk_{table}_{column}_{referred}"
    )


def _unique(table: str, *columns: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(*columns, name=f"uq_{table}_{'_'.join(columns)}")


def _one_of(table: str, column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=f"ck_{table}_{column}")


def _create(table: str, *items: Any) -> None:
    """``op.create_table`` with ``id`` first, the common columns last, and the primary key named.

    A table that defines its own ``name`` column (``metric``: the metric's name) keeps it.
    """
    flat: list[Any] = []
    for item in items:
        flat.extend(item if isinstance(item, tuple) else (item,))
    columns = [c for c in flat if isinstance(c, sa.Column)]
    constraints = [c for c in flat if not isinstance(c, sa.Column)]
    own_name = any(c.name == "name" for c in columns)
    op.create_table(
        table,
        _int("id"),
        *columns,
        _time("created_at", nullable=False),
        _time("updated_at", nullable=False),
        *(() if own_name else (_str("name", 255, nullable=True),)),
        _text("description"),
        sa.Column("is_starred", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        *constraints,
    )


def upgrade() -> None:
    _create(
        "algorithm",
        _str("library", 16),
        _str("analysis_type", 32),
        *(_text(f"fn_{fn}") for fn in ("build", "train", "predict", "lose", "optimize")),
        _json("code"),
        _sha("algorithm_hash", nullable=False),
        _unique("algorithm", "algorithm_hash"),
        _one_of("algorithm", "library", ("keras", "pytorch", "sklearn")),
        _one_of("algorithm", "analysis_type", ANALYSIS_TYPES),
    )
    _create(
        "artifact",
        _sha("sha256", nullable=False),
        _bigint("size_bytes", nullable=False),
        _text("path", nullable=False),
        _str("media_type", 128, nullable=True),
        _unique("artifact", "path", "sha256"),
    )
    _create(
        "dataset",
        _str("typ", 16),
        _str("source_format", 16),
        _text("source_path"),
        _sha("source_sha256"),
        _bool("is_ingested"),
        _text("data_path"),
        _sha("content_hash", nullable=False),
        _str("hash_scheme", 32),
        _json("shape", nullable=False),
        _json("columns"),
        _json("dtypes"),
        _json("kinds"),
        _bigint("nbytes"),
        _bool("contains_nan", nullable=True),
        _json("stats"),
        _int("version"),
        _unique("dataset", "name", "version"),
        _one_of("dataset", "typ", ("tabular", "sequence", "image")),
        _one_of(
            "dataset", "source_format", ("dataframe", "parquet", "csv", "tsv", "ndarray", "npy", "folder")
        ),
    )
    op.create_index("ix_dataset_content_hash", "dataset", ["content_hash"])
    op.create_index(
        "uq_dataset_unnamed_content",
        "dataset",
        ["content_hash", "typ"],
        unique=True,
        sqlite_where=sa.text("name IS NULL"),
        postgresql_where=sa.text("name IS NULL"),
    )
    _create(
        "run",
        _str("uid", 20),
        _str("pipeline", 64),
        _str("kind", 64),
        _str("status", 16),
        _json("config"),
        _sha("config_hash", nullable=False),
        _json("params"),
        _bigint("seed"),
        _fk("run", "parent_id", "run", nullable=True),
        _int("attempt"),
        _str("host", 255, nullable=True),
        _int("pid", nullable=True),
        _str("slurm_job_id", 64, nullable=True),
        _time("started_at"),
        _time("heartbeat_at"),
        _time("finished_at"),
        _float("duration_s"),
        _text("error"),
        _json("env"),
        _unique("run", "uid"),
        _one_of("run", "status", ("running", "succeeded", "failed")),
    )
    _create(
        "feature",
        _fk("feature", "dataset_id", "dataset"),
        _json("columns", nullable=False),
        _json("columns_excluded"),
    )
    _create(
        "hyperparamset",
        _fk("hyperparamset", "algorithm_id", "algorithm"),
        _json("hyperparameters", nullable=False),
        _int("search_count", nullable=True),
        _float("search_percent"),
        _bigint("search_seed", nullable=False),
        _int("grid_count"),
        _int("combo_count"),
    )
    _create(
        "label",
        _fk("label", "dataset_id", "dataset"),
        _json("columns", nullable=False),
        _int("column_count"),
        _json("unique_classes"),
        _str("dtype", 64, nullable=True),
    )
    _create(
        "run_io",
        _fk("run_io", "run_id", "run"),
        _fk("run_io", "artifact_id", "artifact"),
        _str("direction", 3),
        _str("role", 255),
        _unique("run_io", "run_id", "direction", "role"),
        _one_of("run_io", "direction", ("in", "out")),
    )
    fit_scopes = ("train", "all")
    dimensions = ("1D", "2D_singleColumn", "2D_multiColumn")
    _create(
        "feature_coder",
        _fk("feature_coder", "feature_id", "feature"),
        _int("idx"),
        _json("spec", nullable=False),
        _json("forced_params"),
        _json("filter"),
        _json("matching_columns"),
        _json("encoded_column_names"),
        _json("leftover_columns"),
        _json("leftover_dtypes"),
        _bool("is_categorical"),
        _str("fit_scope", 8),
        _str("encoding_dimension", 32, nullable=True),
        _unique("feature_coder", "feature_id", "idx"),
        _one_of("feature_coder", "fit_scope", fit_scopes),
        _one_of("feature_coder", "encoding_dimension", dimensions),
    )
    _create(
        "feature_interpolater",
        _fk("feature_interpolater", "feature_id", "feature"),
        _int("idx"),
        _bool("process_separately"),
        _json("interpolate_kwargs"),
        _json("filter"),
        _json("matching_columns"),
        _json("leftover_columns"),
        _json("leftover_dtypes"),
        _unique("feature_interpolater", "feature_id", "idx"),
    )
    _create(
        "feature_shaper",
        _fk("feature_shaper", "feature_id", "feature"),
        _json("reshape_indices", nullable=False),
        _int("column_position", nullable=True),
        _unique("feature_shaper", "feature_id"),
    )
    _create(
        "hyperparamcombo",
        _fk("hyperparamcombo", "hyperparamset_id", "hyperparamset"),
        _int("idx"),
        _int("grid_index"),
        _json("hyperparameters", nullable=False),
        _unique("hyperparamcombo", "hyperparamset_id", "idx"),
    )
    _create(
        "label_coder",
        _fk("label_coder", "label_id", "label"),
        _json("spec", nullable=False),
        _json("forced_params"),
        _bool("is_categorical"),
        _str("fit_scope", 8),
        _json("matching_columns"),
        _str("encoding_dimension", 32, nullable=True),
        _unique("label_coder", "label_id"),
        _one_of("label_coder", "fit_scope", fit_scopes),
        _one_of("label_coder", "encoding_dimension", dimensions),
    )
    _create(
        "label_interpolater",
        _fk("label_interpolater", "label_id", "label"),
        _bool("process_separately"),
        _json("interpolate_kwargs"),
        _json("matching_columns"),
        _unique("label_interpolater", "label_id"),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    predictor_column, predictor_fk = _fk("splitset", "predictor_id", "predictor", nullable=True)
    _create(
        "splitset",
        _fk("splitset", "label_id", "label", nullable=True),
        predictor_column,
        # SQLite accepts a forward reference and cannot add a foreign key later; elsewhere it is added
        # once the predictor table exists (the cycle splitset → queue → job → predictor → splitset).
        *((predictor_fk,) if sqlite else ()),
        _float("size_test"),
        _float("size_validation"),
        _int("fold_count"),
        _int("bin_count", nullable=True),
        _json("stratify"),
        _str("supervision", 16),
        _bool("has_validation"),
        _str("key_train", 32),
        _str("key_evaluation", 32, nullable=True),
        _str("key_test", 32, nullable=True),
        _bigint("split_seed", nullable=False),
        _bigint("fold_seed", nullable=False),
        _json("samples", nullable=False),
        _json("sizes", nullable=False),
        _sha("spec_hash", nullable=False),
        _text("indices_path"),
        _sha("indices_sha256"),
        _text("cache_dir"),
        _text("preprocess_path"),
        _sha("preprocess_sha256"),
        _int("version"),
        _unique("splitset", "spec_hash", "split_seed", "fold_seed"),
    )
    _create(
        "window",
        _fk("window", "feature_id", "feature"),
        _int("size_window"),
        _int("size_shift"),
        _bool("record_shifted"),
        _int("window_count"),
        _int("lead"),
        _json("samples_unshifted", nullable=False),
        _json("samples_shifted"),
        _unique("window", "feature_id"),
    )
    _create(
        "fold",
        _fk("fold", "splitset_id", "splitset"),
        _int("idx"),
        _json("samples", nullable=False),
        _text("preprocess_path"),
        _sha("preprocess_sha256"),
        _text("manifest_path"),
        _sha("manifest_sha256"),
        _json("fit_report"),
        _unique("fold", "splitset_id", "idx"),
    )
    _create(
        "queue",
        _fk("queue", "algorithm_id", "algorithm"),
        _fk("queue", "splitset_id", "splitset"),
        _fk("queue", "hyperparamset_id", "hyperparamset", nullable=True),
        _str("experiment", 255),
        _sha("config_hash", nullable=False),
        _int("repeat_count"),
        _int("permute_count"),
        _int("total_runs"),
        _unique("queue", "experiment", "config_hash"),
    )
    op.create_table(
        "splitset_feature",
        *_fk("splitset_feature", "splitset_id", "splitset"),
        *_fk("splitset_feature", "feature_id", "feature"),
        _int("position"),
        sa.PrimaryKeyConstraint("splitset_id", "position", name="pk_splitset_feature"),
    )
    _create(
        "job",
        _fk("job", "queue_id", "queue"),
        _fk("job", "hyperparamcombo_id", "hyperparamcombo", nullable=True),
        _fk("job", "fold_id", "fold", nullable=True),
        _int("combo_idx"),
        _int("fold_idx"),
        _int("repeat_count"),
        _unique("job", "queue_id", "combo_idx", "fold_idx"),
    )
    _create(
        "predictor",
        _fk("predictor", "job_id", "job"),
        _int("repeat_index"),
        _fk("predictor", "run_id", "run", nullable=True),
        _bigint("seed", nullable=False),
        _str("status", 16),
        _text("model_path"),
        _sha("model_sha256"),
        _bigint("model_bytes"),
        _str("model_format", 16, nullable=True),
        _json("features_shapes"),
        _json("label_shape"),
        _json("history"),
        _time("time_started"),
        _time("time_succeeded"),
        _float("duration_s"),
        _float("fit_s"),
        _float("overhead_s"),
        _unique("predictor", "job_id", "repeat_index"),
        _one_of("predictor", "model_format", ("keras", "torch_state", "joblib")),
    )
    if not sqlite:
        op.create_foreign_key(predictor_fk.name, "splitset", "predictor", ["predictor_id"], ["id"])
    _create(
        "prediction",
        _fk("prediction", "predictor_id", "predictor"),
        _fk("prediction", "splitset_id", "splitset", nullable=True),
        _int("infer_idx"),
        _text("predictions_path"),
        _sha("predictions_sha256"),
        _text("plot_data_path"),
        _sha("plot_data_sha256"),
        _json("feature_importance"),
        _int("permute_count"),
        _bigint("fi_seed"),
        _str("fi_split", 32, nullable=True),
        _unique("prediction", "predictor_id", "infer_idx"),
    )
    _create(
        "metric",
        _fk("metric", "run_id", "run"),
        _fk("metric", "prediction_id", "prediction", nullable=True),
        _str("name", 255),
        _str("split", 64),
        _int("step"),
        sa.Column("value", sa.Double(), nullable=True),
        _unique("metric", "run_id", "name", "split", "step"),
    )
    op.create_index("ix_metric_name", "metric", ["name"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("fk_splitset_predictor_id_predictor", "splitset", type_="foreignkey")
    for table in reversed(TABLES):
        op.drop_table(table)
