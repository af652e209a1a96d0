"""The high-level API (spec §1; AIQC's ``Pipeline(Input, Target, Stratifier)``,
``Experiment(Architecture, Trainer)``, ``Inference``), running the same stages as the workflow.

>>> from snakelab.tabular.api import *                                              # doctest: +SKIP
>>> scaler = {"class": "sklearn.preprocessing.StandardScaler"}
>>> ordinal = {"class": "sklearn.preprocessing.OrdinalEncoder"}
>>> pipe = Pipeline("iris_ordinal", Input("sklearn:iris", encoders=[scaler]),
...                 Target("species", encoder=ordinal), Stratifier(size_test=0.22, fold_count=5), store=store)
>>> exp = Experiment("iris_sklearn", pipe, Architecture("sklearn", "classification_multi", build_sklearn,
...                  hyperparameters={"neuron_count": [9, 12]}), Trainer(permute_count=3))
>>> exp.run().metrics_df()

Every object is a plain description that converts to its config section (``as_config``); functions
are kept as ``module:qualname`` references (a function defined in ``__main__``, a lambda or a nested
function is rejected with one line naming it). Outputs go under ``results`` in the workflow's layout.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from snakelab.store import Store

FUNCTION_FIELDS = ("fn_build", "fn_train", "fn_predict", "fn_lose", "fn_optimize")


@dataclass
class Input:
    """Features: a dataset (``sklearn:<loader>``, a csv/tsv/parquet path, or a registered name) and
    its preprocessing (the ``input`` section of a pipeline)."""

    dataset: str
    include_columns: Sequence[str] | None = None
    exclude_columns: Sequence[str] | None = None
    window: Mapping[str, Any] | None = None
    reshape_indices: Sequence[Any] | None = None
    interpolaters: Sequence[Mapping[str, Any]] = ()
    encoders: Sequence[Mapping[str, Any]] = ()

    def as_config(self) -> dict[str, Any]:
        return {
            "include_columns": None if self.include_columns is None else list(self.include_columns),
            "exclude_columns": None if self.exclude_columns is None else list(self.exclude_columns),
            "window": None if self.window is None else dict(self.window),
            "reshape_indices": None if self.reshape_indices is None else list(self.reshape_indices),
            "interpolaters": [dict(i) for i in self.interpolaters],
            "encoders": [dict(e) for e in self.encoders],
        }


@dataclass
class Target:
    """The label column(s) of the Input's dataset, with an optional interpolater and encoder."""

    column: str | Sequence[str]
    interpolater: Mapping[str, Any] | None = None
    encoder: Mapping[str, Any] | None = None

    def as_config(self) -> dict[str, Any]:
        column = self.column if isinstance(self.column, str) else list(self.column)
        return {"column": column, "interpolater": self.interpolater, "encoder": self.encoder}


@dataclass
class Stratifier:
    """Test/validation fractions and folds (spec §6)."""

    size_test: float | None = None
    size_validation: float | None = None
    fold_count: int | None = None
    bin_count: int | None = None
    unsupervised_stratify_col: str | None = None

    def as_config(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _store(store: Store | None) -> Store:
    from snakelab.store import open_store

    return store if store is not None else open_store(create=True)


@dataclass
class Pipeline:
    """AIQC ``Pipeline(Input, Target, Stratifier)``: registers the dataset, splits and prepares every fold."""

    name: str
    input: Input
    target: Target | None = None
    stratifier: Stratifier = field(default_factory=Stratifier)
    store: Store | None = None
    seed: int = 0
    results: str | Path = "results/tabular"
    allowed_encoders: Sequence[str] = ()

    def as_config(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset_key,
            "input": self.input.as_config(),
            "target": None if self.target is None else self.target.as_config(),
            "stratifier": self.stratifier.as_config(),
        }

    @property
    def dataset_key(self) -> str:
        source = self.input.dataset
        return source.split(":", 1)[1] if source.startswith("sklearn:") else Path(source).stem

    @property
    def root(self) -> Path:
        return Path(self.results)

    @property
    def dataset_json(self) -> Path:
        return self.root / "datasets" / f"{self.dataset_key}.json"

    @property
    def splits_json(self) -> Path:
        return self.root / "pipelines" / self.name / "splits.json"

    def prepare(self) -> Pipeline:
        """register → split → prepare every fold (idempotent: identical rows are reused)."""
        from snakelab.tabular import stages
        from snakelab.tabular.splits import fold_names

        store = _store(self.store)
        self.store = store
        stages.register(
            store,
            {"source": self.input.dataset, "name": self.dataset_key},
            self.dataset_key,
            self.dataset_json,
        )
        splits = stages.split(
            store,
            self.name,
            self.as_config(),
            self.dataset_json,
            self.seed,
            self.splits_json,
            self.allowed_encoders,
        )
        for fold in fold_names(splits):
            stages.prepare(
                store, self.splits_json, fold, self.splits_json.parent / "cache" / fold / "manifest.json"
            )
        return self


@dataclass
class Architecture:
    """Library, analysis type, functions (callables or ``module:qualname``) and the hyperparameter grid."""

    library: str
    analysis_type: str
    fn_build: Callable[..., Any] | str
    fn_train: Callable[..., Any] | str | None = None
    fn_predict: Callable[..., Any] | str | None = None
    fn_lose: Callable[..., Any] | str | None = None
    fn_optimize: Callable[..., Any] | str | None = None
    hyperparameters: Mapping[str, Sequence[Any]] | None = None

    def as_config(self) -> dict[str, Any]:
        from snakelab.tabular.algorithms.references import reference_of

        refs = {
            f: None if getattr(self, f) is None else reference_of(getattr(self, f), f)
            for f in FUNCTION_FIELDS
        }
        hp = {k: list(v) for k, v in (self.hyperparameters or {}).items()}
        return {"library": self.library, "analysis_type": self.analysis_type, **refs, "hyperparameters": hp}


@dataclass
class Trainer:
    """Repeats, importance permutations, random search and the run settings (spec §11 ``trainer``)."""

    repeat_count: int = 1
    permute_count: int = 3
    search_count: int | None = None
    search_percent: float | None = None
    runs_per_task: int = 1
    threads: int = 1
    deterministic: bool = True
    nan_loss: str = "fail"

    def as_config(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Experiment:
    """AIQC ``Experiment(Architecture, Trainer)`` over a :class:`Pipeline`; ``run()`` trains every run."""

    name: str
    pipeline: Pipeline
    architecture: Architecture
    trainer: Trainer = field(default_factory=Trainer)

    def as_config(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline.name,
            "architecture": self.architecture.as_config(),
            "trainer": self.trainer.as_config(),
        }

    @property
    def directory(self) -> Path:
        return self.pipeline.root / "experiments" / self.name

    def run(self) -> Experiment:
        """prepare the pipeline, plan, train every task in this process, aggregate."""
        from snakelab.tabular import stages
        from snakelab.tabular.summary import aggregate
        from snakelab.tabular.train import train_task

        pipe = self.pipeline.prepare()
        plan_path = self.directory / "plan.json"
        plan = stages.plan(
            pipe.store,
            self.name,
            self.as_config(),
            pipe.as_config(),
            pipe.dataset_json,
            pipe.splits_json,
            pipe.seed,
            plan_path,
        )
        failed = 0
        for task in range(plan["task_count"]):
            summary = train_task(
                pipe.store, plan_path, task, self.directory / "tasks" / f"task_{task:03d}.json"
            )
            failed += summary["counts"]["failed"]
        if failed:
            raise RuntimeError(f"experiment {self.name}: {failed} run(s) failed; see {self.directory}/runs/")
        aggregate(pipe.store, plan_path, self.directory)
        return self

    def metrics_df(self) -> pd.DataFrame:
        """One row per (run, split) (``metrics.parquet`` of the aggregate stage)."""
        import pandas as pd

        return pd.read_parquet(self.directory / "metrics.parquet")

    def metrics_aggregate_df(self, role: str = "evaluation") -> pd.DataFrame:
        """Per (combo, metric) statistics over folds × repeats of one role."""
        from snakelab.tabular.aggregate import metrics_aggregate_df
        from snakelab.tabular.stages import read_json
        from snakelab.tabular.summary import split_keys

        keys = split_keys(read_json(self.directory / "plan.json", "plan"))
        return metrics_aggregate_df(self.metrics_df(), keys, role=role)

    def best(self) -> dict[str, Any]:
        """``best.json``: the best combo by evaluation mean, its hyperparameters and runs."""
        return json.loads((self.directory / "best.json").read_text(encoding="utf-8"))


@dataclass
class Inference:
    """Predict a new table with a run (``best`` by default) of a finished :class:`Experiment`."""

    experiment: Experiment
    input: str | Path
    run: str = "best"
    target_column: str | None = None

    def predict(self, output: str | Path) -> pd.DataFrame:
        import pandas as pd

        from snakelab.tabular.infer import infer

        path = infer(
            _store(self.experiment.pipeline.store),
            self.experiment.directory / "plan.json",
            self.run,
            self.input,
            output,
            self.target_column,
        )
        return pd.read_parquet(path)
