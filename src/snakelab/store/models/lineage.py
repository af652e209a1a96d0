"""The generic lineage tables of every pipeline: Run, Artifact, RunIO, Metric (spec §3, §9).

A run is one recorded unit of work (uid = hash of what determines its result); its input and output
files are artefacts linked by sha256, so lineage follows files from one pipeline's outputs to the
next one's inputs. Metrics are one row per (run, name, split, step); ``split`` '' and ``step`` −1
mean "none", ``value`` NULL means undefined (NaN).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, Double, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from snakelab.store.models.base import SHA256, Base, Common, big_int, one_of, path_column

if TYPE_CHECKING:
    from snakelab.store.models.experiment import Prediction

RUN_STATUSES = ("running", "succeeded", "failed")
DIRECTIONS = ("in", "out")
UID_LENGTH = 20


class Run(Common, Base):
    """One unit of work of a pipeline (a fit, a fold, an iteration), with its config, seed and status.

    Times are UTC; ``duration_s`` in seconds; ``error`` is the first line of the failure.
    """

    __tablename__ = "run"
    __table_args__ = (
        UniqueConstraint("uid"),
        CheckConstraint(one_of("status", RUN_STATUSES), name="status"),
    )

    uid: Mapped[str] = mapped_column(String(UID_LENGTH))
    pipeline: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict[str, Any] | None]
    config_hash: Mapped[str] = mapped_column(String(SHA256))
    params: Mapped[dict[str, Any] | None]
    seed: Mapped[int | None] = big_int()
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("run.id"))
    attempt: Mapped[int] = mapped_column(default=1)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None]
    slurm_job_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    duration_s: Mapped[float | None]
    error: Mapped[str | None] = mapped_column(Text)
    env: Mapped[dict[str, Any] | None]

    parent: Mapped[Run | None] = relationship(remote_side="Run.id")
    io: Mapped[list[RunIO]] = relationship(back_populates="run")
    metrics: Mapped[list[Metric]] = relationship(back_populates="run")


class Artifact(Common, Base):
    """A file by content: path (relative to the working directory when inside it), sha256, size in bytes."""

    __tablename__ = "artifact"
    __table_args__ = (UniqueConstraint("path", "sha256"),)

    sha256: Mapped[str] = mapped_column(String(SHA256))
    size_bytes: Mapped[int] = big_int(nullable=False)
    path: Mapped[str] = path_column(nullable=False)
    media_type: Mapped[str | None] = mapped_column(String(128))


class RunIO(Common, Base):
    """A run's input (``in``) or output (``out``) artefact under a role name (``model``, ``screen``)."""

    __tablename__ = "run_io"
    __table_args__ = (
        UniqueConstraint("run_id", "direction", "role"),
        CheckConstraint(one_of("direction", DIRECTIONS), name="direction"),
    )

    run_id: Mapped[int] = mapped_column(ForeignKey("run.id"))
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifact.id"))
    direction: Mapped[str] = mapped_column(String(3))
    role: Mapped[str] = mapped_column(String(255))

    run: Mapped[Run] = relationship(back_populates="io")
    artifact: Mapped[Artifact] = relationship()


class Metric(Common, Base):
    """One metric value of a run; tabular metrics also name their ``prediction_id``."""

    __tablename__ = "metric"
    __table_args__ = (
        UniqueConstraint("run_id", "name", "split", "step"),
        Index("ix_metric_name", "name"),
    )

    run_id: Mapped[int] = mapped_column(ForeignKey("run.id"))
    prediction_id: Mapped[int | None] = mapped_column(ForeignKey("prediction.id"))
    name: Mapped[str] = mapped_column(String(255))
    split: Mapped[str] = mapped_column(String(64), default="")
    step: Mapped[int] = mapped_column(default=-1)
    value: Mapped[float | None] = mapped_column(Double)

    run: Mapped[Run] = relationship(back_populates="metrics")
    prediction: Mapped[Prediction | None] = relationship(overlaps="metric_rows")
