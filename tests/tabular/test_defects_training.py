"""AIQC defects of the training side, one test each (spec §12: D1, D3, D4, D5, D6 determinism, D8, D9)."""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from snakelab.core.atomic import atomic_directory
from snakelab.core.errors import InputError
from snakelab.tabular.aggregate import SplitKeys, metrics_aggregate_df, metrics_df
from snakelab.tabular.algorithms import algorithm_spec, load_functions, train_model
from snakelab.tabular.fit import (
    NanLossError,
    check_history,
    load_model,
    run_context,
    save_model,
    seed_frameworks,
)
from snakelab.tabular.hyperparams import hyperparamset
from snakelab.tabular.importance import permutation_importance, read_importance, write_importance
from snakelab.tabular.metrics import (
    SplitPredictions,
    metric_rows,
    predictions_frame,
    score_splits,
    write_predictions,
)

IRIS_COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
IRIS_CLASSES = ["setosa", "versicolor", "virginica"]
DEMO_HP = {"neuron_count": 12, "batch_size": 3, "learning_rate": 0.03, "epoch_count": 30}
BUILD = {
    "keras": "snakelab.tabular.demo.iris:build_keras",
    "pytorch": "snakelab.tabular.demo.iris:build_torch",
    "sklearn": "snakelab.tabular.demo.iris:build_sklearn",
}


def iris_split(seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Stratified 80/20 iris split, standardised on the train rows: ``{split: (rows, X float32, y int)}``."""
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    x, y = load_iris(return_X_y=True)
    train, test = train_test_split(np.arange(150), test_size=0.2, stratify=y, random_state=seed)
    mean, sd = x[train].mean(axis=0), x[train].std(axis=0)
    scaled = ((x - mean) / sd).astype(np.float32)
    return {
        name: (np.sort(rows), scaled[np.sort(rows)], y[np.sort(rows)])
        for name, rows in (("train", train), ("test", test))
    }


def encoded(library: str, y: np.ndarray) -> np.ndarray:
    """Keras gets one-hot labels (the demo's iris_ohe), PyTorch/sklearn ordinal (n, 1) (iris_ordinal)."""
    return np.eye(3, dtype=np.float32)[y] if library == "keras" else y.reshape(-1, 1).astype(np.int64)


def one_run(library: str, seed: int, out: Path, hp: dict | None = None) -> tuple[str, dict, np.ndarray]:
    """Train one iris run, score it and write predictions.parquet; return (sha256, metrics, test proba)."""
    data = iris_split()
    spec = algorithm_spec(library, "classification_multi", BUILD[library])
    fns = load_functions(spec, label_onehot=library == "keras")
    seed_frameworks(seed, library, threads=1)
    _, train_x, train_y = data["train"]
    with run_context(seed, "classification_multi"):
        trained = train_model(fns, (4,), (3,), hp or DEMO_HP, train_x, encoded(library, train_y))
    outputs = {}
    for split, (rows, x, y) in data.items():
        pred, proba = fns.predictions(trained.model, x)
        loss = fns.loss(trained.loser, trained.model, x, encoded(library, y))
        outputs[split] = SplitPredictions(rows, encoded(library, y), pred, proba, loss)
    frame = predictions_frame("classification_multi", outputs, class_names=IRIS_CLASSES)
    path = write_predictions(out / "predictions.parquet", frame)
    scores = score_splits("classification_multi", outputs, class_count=3)
    return hashlib.sha256(path.read_bytes()).hexdigest(), scores, outputs["test"].proba


# -- D1: PyTorch batches keep features with their labels --------------------------------------------


@pytest.mark.parametrize("batch_size", [3, 8])
def test_d1_torch_batches_shuffle_features_and_labels_together(batch_size: int) -> None:
    import torch

    from snakelab.tabular.fit.torch_fit import torch_batches

    n = 29
    x = torch.stack([torch.arange(n, dtype=torch.float32), torch.ones(n)], dim=1)
    y = torch.arange(n)
    rng = np.random.default_rng(0)
    orders = []
    for _ in range(3):
        seen = []
        for (xb,), yb in torch_batches([x], y, batch_size, rng):
            assert torch.equal(xb[:, 0].long(), yb)
            seen.extend(yb.tolist())
        assert sorted(seen) == list(range(n))
        assert len(seen) == n and seen != list(range(n))
        orders.append(seen)
    assert orders[0] != orders[1] != orders[2]


def test_d1_torch_fit_trains_on_matching_pairs() -> None:
    import torch

    from snakelab.tabular.fit.torch_fit import torch_fit

    seen_x: list[list[float]] = []
    seen_y: list[list[float]] = []

    class Recorder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.training:
                seen_x.append(x[:, 0].tolist())
            return x[:, :1] * self.scale

    def loser(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        seen_y.append(target[:, 0].tolist())
        return ((output - target) ** 2).mean()

    n = 20
    x = np.column_stack([np.arange(n), np.zeros(n)]).astype(np.float32)
    y = np.arange(n, dtype=np.float32).reshape(-1, 1)
    model = Recorder()
    with run_context(4, "regression"):
        torch_fit(
            model, loser, torch.optim.SGD(model.parameters(), lr=0.0), x, y, epoch_count=3, batch_size=6
        )
    assert len(seen_x) == 3 * 4 and seen_x == seen_y
    assert [len(b) for b in seen_x[:4]] == [6, 6, 6, 2]


def test_d1_torch_iris_demo_is_far_above_chance(tmp_path: Path) -> None:
    _, scores, _ = one_run("pytorch", 0, tmp_path)
    assert scores["test"]["accuracy"] >= 0.9  # AIQC's shuffle gave 0.292
    assert scores["train"]["accuracy"] >= 0.9


# -- D3: feature importance without hyperparameters ------------------------------------------------


def test_d3_importance_and_aggregate_with_empty_hyperparameters(tmp_path: Path) -> None:
    from sklearn.model_selection import StratifiedKFold

    hs = hyperparamset({}, search_seed=1)
    assert hs.combo_count == 1 and hs.combos[0].hyperparameters == {}
    data = iris_split()
    _, x, y = data["train"]
    fns = load_functions(algorithm_spec("sklearn", "classification_multi", BUILD["sklearn"]))
    rows = []
    folds = StratifiedKFold(5, shuffle=True, random_state=3).split(x, y)
    for fold, (fit_idx, val_idx) in enumerate(folds):
        combo = hs.combos[0]
        with run_context(100 + fold, "classification_multi"):
            trained = train_model(
                fns, (4,), (3,), combo.hyperparameters, x[fit_idx], y[fit_idx].reshape(-1, 1)
            )
        val_y = y[val_idx].reshape(-1, 1)

        def loss(features: list[np.ndarray], val_y: np.ndarray = val_y, model=trained) -> float:
            return fns.loss(model.loser, model.model, features[0], val_y)

        importance = permutation_importance(
            loss, [x[val_idx]], [IRIS_COLUMNS], 3, 1000 + fold, "fold_validation"
        )
        path = write_importance(tmp_path / f"fold_{fold}" / "importance.json", importance)
        stored = read_importance(path).feature_importance
        assert list(stored["0"]) == IRIS_COLUMNS
        assert all(len(stored["0"][c]["loss_impacts"]) == 3 for c in IRIS_COLUMNS)
        outputs = {}
        for split, idx in (("folds_train_combined", fit_idx), ("fold_validation", val_idx)):
            pred, proba = fns.predictions(trained.model, x[idx])
            split_y = y[idx].reshape(-1, 1)
            outputs[split] = SplitPredictions(
                idx, split_y, pred, proba, fns.loss(trained.loser, trained.model, x[idx], split_y)
            )
        for row in metric_rows(score_splits("classification_multi", outputs, 3)):
            rows.append(
                {
                    **row,
                    "run_key": f"c000-f{fold}-r00",
                    "combo_idx": combo.idx,
                    "fold_idx": fold,
                    "repeat_idx": 0,
                }
            )
    aggregate = metrics_aggregate_df(metrics_df(rows, combos={0: {}}))
    assert aggregate["combo_idx"].unique().tolist() == [0]
    accuracy = aggregate.set_index("metric").loc["accuracy"]
    assert accuracy["n"] == 5 and accuracy["mean"] > 0.85


# -- D4: aggregation never mixes the roles of one run -----------------------------------------------


def test_d4_evaluation_statistics_use_fold_validation_only() -> None:
    rows = []
    for fold in range(5):
        for split, value in (
            ("folds_train_combined", 1.0),
            ("fold_validation", 0.5 + 0.01 * fold),
            ("test", 0.0),
        ):
            rows.append(
                {
                    "run_key": f"c000-f{fold}-r00",
                    "combo_idx": 0,
                    "fold_idx": fold,
                    "repeat_idx": 0,
                    "split": split,
                    "name": "accuracy",
                    "value": value,
                }
            )
    wide = metrics_df(rows)
    evaluation = metrics_aggregate_df(wide).iloc[0]
    assert evaluation["n"] == 5 and evaluation["split"] == "fold_validation"
    assert evaluation["mean"] == pytest.approx(0.52, abs=1e-12)
    assert evaluation["sd"] == pytest.approx(0.0158114, abs=1e-7)
    assert evaluation["sem"] == pytest.approx(0.0158114 / math.sqrt(5), abs=1e-7)
    assert evaluation["max"] == pytest.approx(0.54)  # train (1.0) never enters
    test = metrics_aggregate_df(wide, role="test").iloc[0]
    assert (test["mean"], test["sd"], test["n"]) == (0.0, 0.0, 5)
    train = metrics_aggregate_df(wide, keys=SplitKeys(), role="train").iloc[0]
    assert (train["mean"], train["sd"]) == (1.0, 0.0)


# -- D5: the NaN-loss guard fires ------------------------------------------------------------------


def nan_at_epoch_3_train(model, loser, optimizer, train_X, train_y, eval_X, eval_y, **hp):
    """A fn_train whose loss becomes NaN at epoch 3."""
    model.fit(train_X, train_y.ravel())
    return model, {"loss": [0.9, 0.6, float("nan"), 0.3], "val_loss": [1.0, 0.7, 0.5, 0.4]}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_d5_nan_loss_fails_the_run_or_is_flagged() -> None:
    data = iris_split()
    _, x, y = data["train"]
    spec = algorithm_spec("sklearn", "classification_multi", BUILD["sklearn"], fn_train=nan_at_epoch_3_train)
    fns = load_functions(spec)
    with run_context(1, "classification_multi"):
        trained = train_model(fns, (4,), (3,), {"epoch_count": 4}, x, y.reshape(-1, 1))
    with pytest.raises(NanLossError) as err:
        check_history(trained.history, "fail")
    assert str(err.value) == "NaN/inf loss at epoch 3 (key loss)"
    flagged = check_history(trained.history, "warn")
    assert flagged.nan_loss and flagged.epoch == 3


def test_d5_a_diverging_torch_fit_is_caught() -> None:
    import torch

    from snakelab.tabular.demo.iris import build_torch
    from snakelab.tabular.fit.torch_fit import torch_fit

    data = iris_split()
    _, x, y = data["train"]
    x = x.copy()
    x[5, 2] = np.nan
    seed_frameworks(0, "pytorch")
    model = build_torch((4,), (3,), neuron_count=4)
    with run_context(0, "classification_multi"):
        _, history = torch_fit(
            model,
            torch.nn.CrossEntropyLoss(),
            torch.optim.Adamax(model.parameters()),
            x,
            y.reshape(-1, 1),
            epoch_count=2,
        )
    with pytest.raises(NanLossError, match=r"^NaN/inf loss at epoch 1 \(key loss\)$"):
        check_history(history)


# -- D6: the same run twice gives the same predictions ---------------------------------------------


@pytest.mark.parametrize("library", ["pytorch", "sklearn"])
def test_d6_torch_and_sklearn_runs_are_byte_identical(library: str, tmp_path: Path) -> None:
    first, scores_a, _ = one_run(library, 11, tmp_path / "a")
    second, scores_b, _ = one_run(library, 11, tmp_path / "b")
    third, _, _ = one_run(library, 12, tmp_path / "c")
    assert first == second and scores_a == scores_b
    assert third != first


def test_d6_keras_runs_agree_to_1e6(tmp_path: Path) -> None:
    hp = {**DEMO_HP, "epoch_count": 10}
    _, scores_a, proba_a = one_run("keras", 11, tmp_path / "a", hp)
    _, scores_b, proba_b = one_run("keras", 11, tmp_path / "b", hp)
    np.testing.assert_allclose(proba_a, proba_b, rtol=1e-6, atol=1e-6)
    assert scores_a["test"]["accuracy"] == scores_b["test"]["accuracy"]
    assert scores_a["test"]["loss"] == pytest.approx(scores_b["test"]["loss"], rel=1e-6)


# -- D8: concurrent model saves never share a temporary name ----------------------------------------


def _save_concurrently(root: str, index: int, barrier) -> None:
    """Child process: train a small model, then (behind a barrier) save it twice, recording os.replace."""
    import numpy as np

    from snakelab.core.atomic import atomic_directory
    from snakelab.tabular.demo.iris import build_sklearn
    from snakelab.tabular.fit import run_context, save_model

    sources: list[str] = []
    real_replace = os.replace

    def spy(src, dst):
        sources.append(os.path.basename(src))
        return real_replace(src, dst)

    os.replace = spy
    rng = np.random.default_rng(index)
    x = rng.normal(size=(40, 4))
    y = (x[:, 0] + 0.1 * index > 0).astype(int)
    with run_context(index):
        model = build_sklearn((4,), (2,), neuron_count=3, epoch_count=3, batch_size=8).fit(x, y)
    proba = model.predict_proba(x)
    barrier.wait()
    with atomic_directory(Path(root) / "runs" / f"c000-f{index}-r00") as tmp:
        saved = save_model(model, tmp, "joblib")
        np.save(tmp / "proba.npy", proba)
        np.save(tmp / "x.npy", x)
    barrier.wait()
    shared = save_model(model, Path(root) / "shared", "joblib")
    os.replace = real_replace
    record = {"sources": sources, "sha256": saved.sha256, "shared_sha256": shared.sha256}
    (Path(root) / f"record-{index}.json").write_text(json.dumps(record))


@pytest.mark.slow
def test_d8_eight_processes_save_models_into_one_directory(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(8)
    workers = [context.Process(target=_save_concurrently, args=(str(tmp_path), i, barrier)) for i in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * 8
    records = [json.loads((tmp_path / f"record-{i}.json").read_text()) for i in range(8)]
    runs = tmp_path / "runs"
    assert sorted(p.name for p in runs.iterdir()) == [f"c000-f{i}-r00" for i in range(8)]
    digests = set()
    for i, record in enumerate(records):
        directory = runs / f"c000-f{i}-r00"
        model = load_model(directory / "model.joblib", "joblib")
        stored = np.load(directory / "proba.npy")
        np.testing.assert_array_equal(model.predict_proba(np.load(directory / "x.npy")), stored)
        assert hashlib.sha256((directory / "model.joblib").read_bytes()).hexdigest() == record["sha256"]
        digests.add(record["sha256"])
    assert len(digests) == 8
    sources = [name for record in records for name in record["sources"]]
    assert len(sources) == 8 * 3 and len(set(sources)) == len(sources)
    assert sum(name.startswith(".c000-f") and name.endswith(".tmp") for name in sources) == 8  # run dirs
    shared = hashlib.sha256((tmp_path / "shared" / "model.joblib").read_bytes()).hexdigest()
    assert shared in {record["shared_sha256"] for record in records}
    leftovers = [p.name for p in tmp_path.rglob("*") if ".tmp" in p.name]
    assert leftovers == []


# -- D9: functions by importable reference, never from __main__ ------------------------------------


def test_d9_a_function_from_main_is_rejected_with_one_line() -> None:
    script = textwrap.dedent(
        """
        from snakelab.core.errors import InputError
        from snakelab.tabular.algorithms import algorithm_spec

        def fn_build(features_shape, label_shape, **hp):
            return None

        try:
            algorithm_spec("keras", "classification_multi", fn_build)
        except InputError as exc:
            print(exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout == "fn_build: must be importable from a module (got __main__.fn_build)\n"
    with pytest.raises(InputError, match=r"got __main__\.fn_build"):
        algorithm_spec("keras", "classification_multi", "__main__:fn_build")


def test_d9_a_torch_model_resumes_in_a_fresh_process(tmp_path: Path) -> None:
    import torch

    from snakelab.tabular.demo.iris import build_torch

    seed_frameworks(3, "pytorch")
    model = build_torch((4,), (3,), neuron_count=5)
    with atomic_directory(tmp_path / "runs" / "c000-f0-r00") as directory:
        save_model(
            model,
            directory,
            "torch_state",
            optimizer=torch.optim.Adamax(model.parameters()),
            fn_build="snakelab.tabular.demo.iris:build_torch",
            hp={"neuron_count": 5},
            features_shape=(4,),
            label_shape=(3,),
        )
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    script = (
        "import sys, json, numpy as np, torch; from snakelab.tabular.fit import load_model; "
        "m = load_model(sys.argv[1], 'torch_state'); "
        "print(json.dumps(m(torch.from_numpy(np.array(json.loads(sys.argv[2]), dtype=np.float32))).tolist()))"
    )
    path = tmp_path / "runs" / "c000-f0-r00" / "model.pt"
    out = subprocess.run(
        [sys.executable, "-c", script, str(path), json.dumps(x.tolist())],
        capture_output=True,
        text=True,
        check=True,
    )
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(x)).tolist()
    assert json.loads(out.stdout) == expected
