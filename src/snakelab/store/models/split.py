"""Splits and folds: Splitset (train/validation/test samples, seeds), its ordered features, Fold.

Every seed is stored (spec §6): ``split_seed`` and ``fold_seed`` are part of the splitset's key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from snakelab.store.models.base import SHA256, Base, Common, big_int, path_column, sha256_column

if TYPE_CHECKING:
    from snakelab.store.models.dataset import Feature, Label
    from snakelab.store.models.experiment import Predictor

#: the ordered features of a splitset (several features feed multi-input models).
splitset_feature = Table(
    "splitset_feature",
    Base.metadata,
    Column("splitset_id", Integer, ForeignKey("splitset.id"), nullable=False),
    Column("feature_id", Integer, ForeignKey("feature.id"), nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("splitset_id", "position"),
)


class Splitset(Common, Base):
    """The split of a dataset's samples (rows, or windows) into train/validation/test, and its folds.

    ``predictor_id`` is set for inference splitsets (its foreign key closes the cycle splitset → queue
    → job → predictor, so it is created after the tables); ``samples`` maps split → sorted sample
    indices, ``sizes`` maps split → ``{count, percent}``.
    """

    __tablename__ = "splitset"
    __table_args__ = (
        UniqueConstraint("spec_hash", "split_seed", "fold_seed"),
        Index("ix_splitset_predictor_id", "predictor_id"),
    )

    label_id: Mapped[int | None] = mapped_column(ForeignKey("label.id"))
    predictor_id: Mapped[int | None] = mapped_column(ForeignKey("predictor.id", use_alter=True))
    size_test: Mapped[float | None]
    size_validation: Mapped[float | None]
    fold_count: Mapped[int] = mapped_column(default=0)
    bin_count: Mapped[int | None]
    stratify: Mapped[dict[str, Any] | None]
    supervision: Mapped[str] = mapped_column(String(16))
    has_validation: Mapped[bool]
    key_train: Mapped[str] = mapped_column(String(32))
    key_evaluation: Mapped[str | None] = mapped_column(String(32))
    key_test: Mapped[str | None] = mapped_column(String(32))
    split_seed: Mapped[int] = big_int(nullable=False)
    fold_seed: Mapped[int] = big_int(nullable=False)
    samples: Mapped[dict[str, Any]]
    sizes: Mapped[dict[str, Any]]
    spec_hash: Mapped[str] = mapped_column(String(SHA256))
    indices_path: Mapped[str | None] = path_column()
    indices_sha256: Mapped[str | None] = sha256_column()
    cache_dir: Mapped[str | None] = path_column()
    preprocess_path: Mapped[str | None] = path_column()
    preprocess_sha256: Mapped[str | None] = sha256_column()
    version: Mapped[int] = mapped_column(default=1)

    label: Mapped[Label | None] = relationship()
    predictor: Mapped[Predictor | None] = relationship(foreign_keys=[predictor_id])
    features: Mapped[list[Feature]] = relationship(
        secondary=splitset_feature, order_by=splitset_feature.c.position, viewonly=True
    )
    folds: Mapped[list[Fold]] = relationship(back_populates="splitset", order_by="Fold.idx")


class Fold(Common, Base):
    """Fold ``idx`` of a splitset: its samples, fitted preprocessing and sample-cache manifest."""

    __tablename__ = "fold"
    __table_args__ = (UniqueConstraint("splitset_id", "idx"),)

    splitset_id: Mapped[int] = mapped_column(ForeignKey("splitset.id"))
    idx: Mapped[int]
    samples: Mapped[dict[str, Any]]
    preprocess_path: Mapped[str | None] = path_column()
    preprocess_sha256: Mapped[str | None] = sha256_column()
    manifest_path: Mapped[str | None] = path_column()
    manifest_sha256: Mapped[str | None] = sha256_column()
    fit_report: Mapped[dict[str, Any] | None]

    splitset: Mapped[Splitset] = relationship(back_populates="folds")
