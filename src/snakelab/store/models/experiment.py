"""Experiments: Algorithm, Hyperparamset/-combo, Queue, Job, Predictor, Prediction (spec §3, §7).

A *run* is one (job, repeat_index): one Predictor, its training Prediction (``infer_idx`` −1) and
one lineage ``run``. Metrics live only in the ``metric`` table; :attr:`Prediction.metrics` reads them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from snakelab.store.models.base import SHA256, Base, Common, big_int, one_of, path_column, sha256_column

if TYPE_CHECKING:
    from snakelab.store.models.lineage import Metric, Run
    from snakelab.store.models.split import Fold, Splitset

LIBRARIES = ("keras", "pytorch", "sklearn")
ANALYSIS_TYPES = ("classification_binary", "classification_multi", "regression")
MODEL_FORMATS = ("keras", "torch_state", "joblib")


class Algorithm(Common, Base):
    """A model family: library, analysis type and its functions as ``module:qualname`` references.

    ``code`` maps each function to ``{module_sha256, source_sha256}``; ``algorithm_hash`` identifies it.
    """

    __tablename__ = "algorithm"
    __table_args__ = (
        UniqueConstraint("algorithm_hash"),
        CheckConstraint(one_of("library", LIBRARIES), name="library"),
        CheckConstraint(one_of("analysis_type", ANALYSIS_TYPES), name="analysis_type"),
    )

    library: Mapped[str] = mapped_column(String(16))
    analysis_type: Mapped[str] = mapped_column(String(32))
    fn_build: Mapped[str | None] = mapped_column(Text)
    fn_train: Mapped[str | None] = mapped_column(Text)
    fn_predict: Mapped[str | None] = mapped_column(Text)
    fn_lose: Mapped[str | None] = mapped_column(Text)
    fn_optimize: Mapped[str | None] = mapped_column(Text)
    code: Mapped[dict[str, Any] | None]
    algorithm_hash: Mapped[str] = mapped_column(String(SHA256))

    hyperparamsets: Mapped[list[Hyperparamset]] = relationship(back_populates="algorithm")


class Hyperparamset(Common, Base):
    """A hyperparameter grid (dict of lists, key order kept) and how it was searched."""

    __tablename__ = "hyperparamset"

    algorithm_id: Mapped[int] = mapped_column(ForeignKey("algorithm.id"))
    hyperparameters: Mapped[dict[str, Any]]
    search_count: Mapped[int | None]
    search_percent: Mapped[float | None]
    search_seed: Mapped[int] = big_int(nullable=False)
    grid_count: Mapped[int]
    combo_count: Mapped[int]

    algorithm: Mapped[Algorithm] = relationship(back_populates="hyperparamsets")
    combos: Mapped[list[Hyperparamcombo]] = relationship(
        back_populates="hyperparamset", order_by="Hyperparamcombo.idx"
    )


class Hyperparamcombo(Common, Base):
    """Combination ``idx`` of a hyperparamset; ``grid_index`` is its position in the full grid."""

    __tablename__ = "hyperparamcombo"
    __table_args__ = (UniqueConstraint("hyperparamset_id", "idx"),)

    hyperparamset_id: Mapped[int] = mapped_column(ForeignKey("hyperparamset.id"))
    idx: Mapped[int]
    grid_index: Mapped[int]
    hyperparameters: Mapped[dict[str, Any]]

    hyperparamset: Mapped[Hyperparamset] = relationship(back_populates="combos")


class Queue(Common, Base):
    """An experiment: algorithm × splitset × hyperparameters × repeats.

    ``runs_completed`` is a query (the number of succeeded predictors of its jobs), not a counter.
    """

    __tablename__ = "queue"
    __table_args__ = (UniqueConstraint("experiment", "config_hash"),)

    algorithm_id: Mapped[int] = mapped_column(ForeignKey("algorithm.id"))
    splitset_id: Mapped[int] = mapped_column(ForeignKey("splitset.id"))
    hyperparamset_id: Mapped[int | None] = mapped_column(ForeignKey("hyperparamset.id"))
    experiment: Mapped[str] = mapped_column(String(255))
    config_hash: Mapped[str] = mapped_column(String(SHA256))
    repeat_count: Mapped[int] = mapped_column(default=1)
    permute_count: Mapped[int] = mapped_column(default=0)
    total_runs: Mapped[int]

    algorithm: Mapped[Algorithm] = relationship()
    splitset: Mapped[Splitset] = relationship()
    hyperparamset: Mapped[Hyperparamset | None] = relationship()
    jobs: Mapped[list[Job]] = relationship(back_populates="queue", order_by="(Job.combo_idx, Job.fold_idx)")


class Job(Common, Base):
    """One (combo × fold) of a queue (``fold_idx`` −1 without folds); trained ``repeat_count`` times."""

    __tablename__ = "job"
    __table_args__ = (UniqueConstraint("queue_id", "combo_idx", "fold_idx"),)

    queue_id: Mapped[int] = mapped_column(ForeignKey("queue.id"))
    hyperparamcombo_id: Mapped[int | None] = mapped_column(ForeignKey("hyperparamcombo.id"))
    fold_id: Mapped[int | None] = mapped_column(ForeignKey("fold.id"))
    combo_idx: Mapped[int]
    fold_idx: Mapped[int] = mapped_column(default=-1)
    repeat_count: Mapped[int] = mapped_column(default=1)

    queue: Mapped[Queue] = relationship(back_populates="jobs")
    hyperparamcombo: Mapped[Hyperparamcombo | None] = relationship()
    fold: Mapped[Fold | None] = relationship()
    predictors: Mapped[list[Predictor]] = relationship(
        back_populates="job", order_by="Predictor.repeat_index"
    )


class Predictor(Common, Base):
    """A trained model (one run): the model file, its shapes and training history, and timings (s)."""

    __tablename__ = "predictor"
    __table_args__ = (
        UniqueConstraint("job_id", "repeat_index"),
        CheckConstraint(one_of("model_format", MODEL_FORMATS), name="model_format"),
    )

    job_id: Mapped[int] = mapped_column(ForeignKey("job.id"))
    repeat_index: Mapped[int] = mapped_column(default=0)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("run.id"))
    seed: Mapped[int] = big_int(nullable=False)
    status: Mapped[str] = mapped_column(String(16))
    model_path: Mapped[str | None] = path_column()
    model_sha256: Mapped[str | None] = sha256_column()
    model_bytes: Mapped[int | None] = big_int()
    model_format: Mapped[str | None] = mapped_column(String(16))
    features_shapes: Mapped[list[Any] | None]
    label_shape: Mapped[list[Any] | None]
    history: Mapped[dict[str, Any] | None]
    time_started: Mapped[datetime | None]
    time_succeeded: Mapped[datetime | None]
    duration_s: Mapped[float | None]
    fit_s: Mapped[float | None]
    overhead_s: Mapped[float | None]

    job: Mapped[Job] = relationship(back_populates="predictors")
    run: Mapped[Run | None] = relationship()
    predictions: Mapped[list[Prediction]] = relationship(
        back_populates="predictor", order_by="Prediction.infer_idx", foreign_keys="Prediction.predictor_id"
    )


class Prediction(Common, Base):
    """A predictor's predictions: ``infer_idx`` −1 = on its training splitset, ≥ 0 = an inference."""

    __tablename__ = "prediction"
    __table_args__ = (
        UniqueConstraint("predictor_id", "infer_idx"),
        Index("ix_prediction_splitset_id", "splitset_id"),
    )

    predictor_id: Mapped[int] = mapped_column(ForeignKey("predictor.id"))
    splitset_id: Mapped[int | None] = mapped_column(ForeignKey("splitset.id"))
    infer_idx: Mapped[int] = mapped_column(default=-1)
    predictions_path: Mapped[str | None] = path_column()
    predictions_sha256: Mapped[str | None] = sha256_column()
    plot_data_path: Mapped[str | None] = path_column()
    plot_data_sha256: Mapped[str | None] = sha256_column()
    feature_importance: Mapped[dict[str, Any] | None]
    permute_count: Mapped[int] = mapped_column(default=0)
    fi_seed: Mapped[int | None] = big_int()
    fi_split: Mapped[str | None] = mapped_column(String(32))

    predictor: Mapped[Predictor] = relationship(back_populates="predictions", foreign_keys=[predictor_id])
    splitset: Mapped[Splitset | None] = relationship(foreign_keys=[splitset_id])
    metric_rows: Mapped[list[Metric]] = relationship(viewonly=True, order_by="(Metric.split, Metric.name)")

    @property
    def metrics(self) -> dict[str, dict[str, float | None]]:
        """``{split: {metric: value}}`` read from the ``metric`` table (the one source of truth)."""
        out: dict[str, dict[str, float | None]] = {}
        for row in self.metric_rows:
            out.setdefault(row.split, {})[row.name] = row.value
        return out


def _runs_completed() -> Any:
    return (
        select(func.count(Predictor.id))
        .join(Job, Predictor.job_id == Job.id)
        .where(Job.queue_id == Queue.id, Predictor.status == "succeeded")
        .correlate_except(Predictor, Job)
        .scalar_subquery()
    )


Queue.runs_completed = column_property(_runs_completed(), deferred=True)
