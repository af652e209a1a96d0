"""The high-level API (spec §1): Pipeline(Input, Target, Stratifier), Experiment(Architecture, Trainer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from snakelab.core.errors import InputError
from snakelab.store import open_store
from snakelab.tabular.api import (
    Architecture,
    Experiment,
    Inference,
    Input,
    Pipeline,
    Stratifier,
    Target,
    Trainer,
)
from snakelab.tabular.demo.iris import build_sklearn


def test_experiment_runs_every_fold_and_combo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store(
        f"sqlite:///{tmp_path}/s.sqlite", create=True, config={"data_dir": str(tmp_path / "data")}
    )
    pipe = Pipeline(
        "iris_ordinal",
        Input("sklearn:iris", encoders=[{"class": "sklearn.preprocessing.StandardScaler"}]),
        Target("species", encoder={"class": "sklearn.preprocessing.OrdinalEncoder"}),
        Stratifier(size_test=0.22, fold_count=2),
        store=store,
    )
    arch = Architecture(
        "sklearn", "classification_multi", build_sklearn, hyperparameters={"neuron_count": [9, 12]}
    )
    assert arch.as_config()["fn_build"] == "snakelab.tabular.demo.iris:build_sklearn"
    exp = Experiment("iris_api", pipe, arch, Trainer(permute_count=1, runs_per_task=2)).run()
    metrics = exp.metrics_df()
    assert metrics["run_uid"].nunique() == 4
    assert set(metrics["split"]) == {"folds_train_combined", "fold_validation", "test"}
    evaluation = exp.metrics_aggregate_df()
    assert set(evaluation["combo_idx"]) == {0, 1}
    assert (evaluation.loc[evaluation["metric"] == "accuracy", "n"] == 2).all()
    assert exp.best()["best_combo"] in (0, 1)

    import pandas as pd
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    frame = iris.frame.drop(columns="target")
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    frame.head(20).to_csv(tmp_path / "new.csv", index=False)
    pred = Inference(exp, tmp_path / "new.csv").predict(tmp_path / "pred.parquet")
    assert isinstance(pred, pd.DataFrame) and len(pred) == 20
    assert (pred["y_pred"] == "setosa").mean() >= 0.9


def test_architecture_rejects_a_lambda() -> None:
    with pytest.raises(InputError, match="fn_build"):
        Architecture("sklearn", "classification_multi", lambda *a, **k: None).as_config()
