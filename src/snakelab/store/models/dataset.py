"""Datasets and their preprocessing: Dataset, Feature, Label, interpolaters, coders, shaper, window.

Column semantics follow spec §3–§5 (AIQC's Dataset → Label/Feature chain). Coders and interpolaters
are stored as specs (class name + params), never as pickled instances.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from snakelab.store.models.base import SHA256, Base, Common, big_int, one_of, path_column, sha256_column

DATASET_TYPES = ("tabular", "sequence", "image")
SOURCE_FORMATS = ("dataframe", "parquet", "csv", "tsv", "ndarray", "npy", "folder")
FIT_SCOPES = ("train", "all")
ENCODING_DIMENSIONS = ("1D", "2D_singleColumn", "2D_multiColumn")
HASH_SCHEME = "snakelab-canon-v1"


class Dataset(Common, Base):
    """One registered version of a dataset; ``content_hash`` is the canonical hash of §4."""

    __tablename__ = "dataset"
    __table_args__ = (
        UniqueConstraint("name", "version"),
        Index("ix_dataset_content_hash", "content_hash"),
        Index(
            "uq_dataset_unnamed_content",
            "content_hash",
            "typ",
            unique=True,
            sqlite_where=text("name IS NULL"),
            postgresql_where=text("name IS NULL"),
        ),
        CheckConstraint(one_of("typ", DATASET_TYPES), name="typ"),
        CheckConstraint(one_of("source_format", SOURCE_FORMATS), name="source_format"),
    )

    typ: Mapped[str] = mapped_column(String(16))
    source_format: Mapped[str] = mapped_column(String(16))
    source_path: Mapped[str | None] = path_column()
    source_sha256: Mapped[str | None] = sha256_column()
    is_ingested: Mapped[bool]
    data_path: Mapped[str | None] = path_column()
    content_hash: Mapped[str] = mapped_column(String(SHA256))
    hash_scheme: Mapped[str] = mapped_column(String(32), default=HASH_SCHEME)
    shape: Mapped[dict[str, Any]]
    columns: Mapped[list[Any] | None]
    dtypes: Mapped[list[Any] | None]
    kinds: Mapped[list[Any] | None]
    nbytes: Mapped[int | None] = big_int()
    contains_nan: Mapped[bool | None]
    stats: Mapped[dict[str, Any] | None]
    version: Mapped[int] = mapped_column(default=1)

    features: Mapped[list[Feature]] = relationship(back_populates="dataset")
    labels: Mapped[list[Label]] = relationship(back_populates="dataset")


class Feature(Common, Base):
    """The input columns taken from a dataset (ordered), and those left out."""

    __tablename__ = "feature"

    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id"))
    columns: Mapped[list[Any]]
    columns_excluded: Mapped[list[Any] | None]

    dataset: Mapped[Dataset] = relationship(back_populates="features")
    interpolaters: Mapped[list[FeatureInterpolater]] = relationship(
        back_populates="feature", order_by="FeatureInterpolater.idx"
    )
    coders: Mapped[list[FeatureCoder]] = relationship(back_populates="feature", order_by="FeatureCoder.idx")
    shaper: Mapped[FeatureShaper | None] = relationship(back_populates="feature")
    window: Mapped[Window | None] = relationship(back_populates="feature")


class Label(Common, Base):
    """The target column(s) of a dataset; ``unique_classes`` only for categorical labels."""

    __tablename__ = "label"

    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id"))
    columns: Mapped[list[Any]]
    column_count: Mapped[int]
    unique_classes: Mapped[list[Any] | None]
    dtype: Mapped[str | None] = mapped_column(String(64))

    dataset: Mapped[Dataset] = relationship(back_populates="labels")
    interpolater: Mapped[LabelInterpolater | None] = relationship(back_populates="label")
    coder: Mapped[LabelCoder | None] = relationship(back_populates="label")


class FeatureInterpolater(Common, Base):
    """Step ``idx`` of a feature's interpolation chain (``pandas.DataFrame.interpolate`` kwargs)."""

    __tablename__ = "feature_interpolater"
    __table_args__ = (UniqueConstraint("feature_id", "idx"),)

    feature_id: Mapped[int] = mapped_column(ForeignKey("feature.id"))
    idx: Mapped[int]
    process_separately: Mapped[bool] = mapped_column(default=True)
    interpolate_kwargs: Mapped[dict[str, Any] | None]
    filter: Mapped[dict[str, Any] | None]
    matching_columns: Mapped[list[Any] | None]
    leftover_columns: Mapped[list[Any] | None]
    leftover_dtypes: Mapped[list[Any] | None]

    feature: Mapped[Feature] = relationship(back_populates="interpolaters")


class LabelInterpolater(Common, Base):
    """Interpolation of a label's missing values (at most one per label)."""

    __tablename__ = "label_interpolater"
    __table_args__ = (UniqueConstraint("label_id"),)

    label_id: Mapped[int] = mapped_column(ForeignKey("label.id"))
    process_separately: Mapped[bool] = mapped_column(default=True)
    interpolate_kwargs: Mapped[dict[str, Any] | None]
    matching_columns: Mapped[list[Any] | None]

    label: Mapped[Label] = relationship(back_populates="interpolater")


class LabelCoder(Common, Base):
    """The encoder of a label: ``spec`` = ``{class, params}``; fit on ``fit_scope`` rows."""

    __tablename__ = "label_coder"
    __table_args__ = (
        UniqueConstraint("label_id"),
        CheckConstraint(one_of("fit_scope", FIT_SCOPES), name="fit_scope"),
        CheckConstraint(one_of("encoding_dimension", ENCODING_DIMENSIONS), name="encoding_dimension"),
    )

    label_id: Mapped[int] = mapped_column(ForeignKey("label.id"))
    spec: Mapped[dict[str, Any]]
    forced_params: Mapped[dict[str, Any] | None]
    is_categorical: Mapped[bool]
    fit_scope: Mapped[str] = mapped_column(String(8))
    matching_columns: Mapped[list[Any] | None]
    encoding_dimension: Mapped[str | None] = mapped_column(String(32))

    label: Mapped[Label] = relationship(back_populates="coder")


class FeatureCoder(Common, Base):
    """Step ``idx`` of a feature's encoder chain; ``encoded_column_names`` is the output order."""

    __tablename__ = "feature_coder"
    __table_args__ = (
        UniqueConstraint("feature_id", "idx"),
        CheckConstraint(one_of("fit_scope", FIT_SCOPES), name="fit_scope"),
        CheckConstraint(one_of("encoding_dimension", ENCODING_DIMENSIONS), name="encoding_dimension"),
    )

    feature_id: Mapped[int] = mapped_column(ForeignKey("feature.id"))
    idx: Mapped[int]
    spec: Mapped[dict[str, Any]]
    forced_params: Mapped[dict[str, Any] | None]
    filter: Mapped[dict[str, Any] | None]
    matching_columns: Mapped[list[Any] | None]
    encoded_column_names: Mapped[list[Any] | None]
    leftover_columns: Mapped[list[Any] | None]
    leftover_dtypes: Mapped[list[Any] | None]
    is_categorical: Mapped[bool]
    fit_scope: Mapped[str] = mapped_column(String(8))
    encoding_dimension: Mapped[str | None] = mapped_column(String(32))

    feature: Mapped[Feature] = relationship(back_populates="coders")


class FeatureShaper(Common, Base):
    """The final reshape of a feature (``reshape_indices`` as in spec §5)."""

    __tablename__ = "feature_shaper"
    __table_args__ = (UniqueConstraint("feature_id"),)

    feature_id: Mapped[int] = mapped_column(ForeignKey("feature.id"))
    reshape_indices: Mapped[list[Any]]
    column_position: Mapped[int | None]

    feature: Mapped[Feature] = relationship(back_populates="shaper")


class Window(Common, Base):
    """Sliding windows over a feature's rows; samples are lists of ``[start, stop)`` row ranges."""

    __tablename__ = "window"
    __table_args__ = (UniqueConstraint("feature_id"),)

    feature_id: Mapped[int] = mapped_column(ForeignKey("feature.id"))
    size_window: Mapped[int]
    size_shift: Mapped[int]
    record_shifted: Mapped[bool]
    window_count: Mapped[int]
    lead: Mapped[int]
    samples_unshifted: Mapped[list[Any]]
    samples_shifted: Mapped[list[Any] | None]

    feature: Mapped[Feature] = relationship(back_populates="window")
