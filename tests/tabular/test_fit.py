"""Fit loops, run context, NaN guard and model files (spec §7)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from snakelab.tabular.fit import (
    NanLossError,
    check_history,
    check_predictions,
    current_run,
    load_model,
    model_filename,
    model_format_of,
    run_context,
    save_model,
    seed_frameworks,
)
from snakelab.tabular.fit.common import batch_indices, batch_size_of, epochs_of
from snakelab.tabular.fit.sklearn_fit import sklearn_fit, sklearn_target
from snakelab.tabular.fit.torch_fit import torch_fit, torch_target

N, WIDTH, BATCH, EPOCHS, LR, SEED = 7, 3, 3, 3, 0.05, 11


def regression_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(N, WIDTH)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype(np.float32)
    w0 = rng.normal(size=(WIDTH, 1)).astype(np.float32)
    b0 = np.array([0.1], dtype=np.float32)
    return x, y, w0, b0


def numpy_sgd(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple:
    """Reference: mini-batch SGD on MSE with the fit loops' shuffle (one permutation per epoch)."""
    w, b = w.astype(np.float64).copy(), b.astype(np.float64).copy()
    rng = np.random.default_rng(SEED)
    losses = []
    for _ in range(EPOCHS):
        total = 0.0
        for idx in batch_indices(N, BATCH, rng):
            xb, yb = x[idx].astype(np.float64), y[idx].astype(np.float64)
            err = xb @ w + b - yb
            total += float(np.mean(err**2)) * len(idx)
            w -= LR * 2 * xb.T @ err / len(idx)
            b -= LR * 2 * err.sum(axis=0) / len(idx)
        losses.append(total / N)
    return w, b, losses


# -- settings and context --------------------------------------------------------------------------


def test_epoch_and_batch_settings() -> None:
    assert epochs_of({}) == 30 and batch_size_of({}) == 5
    assert epochs_of({"epochs": 7}) == 7 and epochs_of({"epoch_count": 4, "epochs": 7}) == 4
    assert batch_size_of({"batch_size": 3}) == 3
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="epoch_count"):
            epochs_of({"epoch_count": bad})


def test_batch_indices_cover_every_sample_once_and_keep_the_tail() -> None:
    batches = batch_indices(10, 4, np.random.default_rng(0))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))
    assert np.array_equal(np.concatenate(batches), np.random.default_rng(0).permutation(10))


def test_run_context_is_required_and_nested() -> None:
    with pytest.raises(RuntimeError, match="run_context"):
        current_run()
    with run_context(3, "regression", key="c000-f0-r00") as outer:
        assert current_run() is outer and outer.is_classification is False
        with run_context(4):
            assert current_run().seed == 4 and current_run().is_classification is None
        assert current_run().seed == 3
    with pytest.raises(ValueError, match="seed"):
        with run_context(-1):
            pass
    with pytest.raises(ValueError, match="analysis_type"):
        with run_context(1, "clustering"):
            pass


# -- torch -----------------------------------------------------------------------------------------


def torch_linear(w0: np.ndarray, b0: np.ndarray):
    import torch

    model = torch.nn.Linear(WIDTH, 1)
    with torch.no_grad():
        model.weight.copy_(torch.from_numpy(w0.T))
        model.bias.copy_(torch.from_numpy(b0))
    return model


def test_torch_fit_equals_numpy_sgd_reference() -> None:
    import torch

    x, y, w0, b0 = regression_data()
    model = torch_linear(w0, b0)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    with run_context(SEED, "regression"):
        model, history = torch_fit(
            model, torch.nn.MSELoss(), optimizer, x, y, x, y, epoch_count=EPOCHS, batch_size=BATCH
        )
    w, b, losses = numpy_sgd(x, y, w0, b0)
    assert set(history) == {"loss", "val_loss"}
    np.testing.assert_allclose(model.weight.detach().numpy().T, w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.bias.detach().numpy(), b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history["loss"], losses, rtol=1e-5)
    final = float(np.mean((x @ w + b - y) ** 2))
    assert history["val_loss"][-1] == pytest.approx(final, rel=1e-5)
    assert not model.training


def test_torch_fit_classification_history_and_determinism() -> None:
    import torch

    from snakelab.tabular.demo.iris import build_torch

    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 4)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.int64) + (x[:, 1:2] > 1).astype(np.int64)

    def fit(seed: int) -> tuple:
        seed_frameworks(seed, "pytorch", threads=1)
        model = build_torch((4,), (3,), neuron_count=5)
        opt = torch.optim.Adamax(model.parameters(), lr=0.05)
        with run_context(seed, "classification_multi"):
            return torch_fit(model, torch.nn.CrossEntropyLoss(), opt, x, y, x[:10], y[:10], epoch_count=4)

    model_a, hist_a = fit(1)
    model_b, hist_b = fit(1)
    _, hist_c = fit(2)
    assert list(hist_a) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert all(len(v) == 4 for v in hist_a.values())
    assert hist_a == hist_b and hist_a != hist_c
    for a, b in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert torch.equal(a, b)
    assert all(v * 30 == round(v * 30) for v in hist_a["accuracy"])


def test_torch_target_per_loss() -> None:
    import torch

    ordinal = np.array([[0], [2], [1]], dtype=np.int64)
    ce = torch_target(ordinal, torch.nn.CrossEntropyLoss())
    assert ce.dtype == torch.int64 and ce.tolist() == [0, 2, 1]
    bce = torch_target(ordinal, torch.nn.BCELoss())
    assert bce.dtype == torch.float32 and tuple(bce.shape) == (3, 1)
    onehot = torch_target(np.eye(3, dtype=np.float32), torch.nn.CrossEntropyLoss())
    assert onehot.dtype == torch.float32 and tuple(onehot.shape) == (3, 3)


# -- keras -----------------------------------------------------------------------------------------


def keras_linear(w0: np.ndarray, b0: np.ndarray):
    import keras

    model = keras.Sequential([keras.Input(shape=(WIDTH,)), keras.layers.Dense(1)])
    model.set_weights([w0, b0])
    return model


def test_keras_fit_equals_numpy_sgd_reference() -> None:
    import keras

    from snakelab.tabular.fit.keras_fit import keras_fit

    x, y, w0, b0 = regression_data()
    model = keras_linear(w0, b0)
    with run_context(SEED, "regression"):
        model, history = keras_fit(
            model,
            keras.losses.MeanSquaredError(),
            keras.optimizers.SGD(learning_rate=LR),
            x,
            y,
            x,
            y,
            epoch_count=EPOCHS,
            batch_size=BATCH,
        )
    w, b, losses = numpy_sgd(x, y, w0, b0)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel, w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bias, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history["loss"], losses, rtol=1e-5)
    assert history["val_loss"][-1] == pytest.approx(float(np.mean((x @ w + b - y) ** 2)), rel=1e-5)
    assert set(history) == {"loss", "val_loss"}


def test_keras_fit_only_full_batches_or_only_tail() -> None:
    import keras

    from snakelab.tabular.fit.keras_fit import keras_fit

    x, y, w0, b0 = regression_data()
    for batch_size in (N, N + 5):
        model = keras_linear(w0, b0)
        with run_context(SEED):
            _, history = keras_fit(
                model,
                keras.losses.MeanSquaredError(),
                keras.optimizers.SGD(learning_rate=LR),
                x,
                y,
                epoch_count=1,
                batch_size=batch_size,
            )
        assert history == {"loss": [pytest.approx(float(np.mean((x @ w0 + b0 - y) ** 2)), rel=1e-6)]}


def test_keras_fit_classification_is_deterministic() -> None:
    import keras

    from snakelab.tabular.demo.iris import build_keras
    from snakelab.tabular.fit.keras_fit import keras_fit

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[(x[:, 0] > 0).astype(int) + (x[:, 1] > 1).astype(int)]

    def fit(seed: int) -> tuple:
        seed_frameworks(seed, "keras", threads=1)
        model = build_keras((4,), (3,), neuron_count=6)
        with run_context(seed, "classification_multi"):
            model, hist = keras_fit(
                model,
                keras.losses.CategoricalCrossentropy(),
                keras.optimizers.Adamax(learning_rate=0.05),
                x,
                y,
                x[:8],
                y[:8],
                epoch_count=5,
                batch_size=3,
            )
        return model(x, training=False).numpy(), hist

    out_a, hist_a = fit(3)
    out_b, hist_b = fit(3)
    out_c, _ = fit(4)
    assert list(hist_a) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert all(len(v) == 5 for v in hist_a.values())
    np.testing.assert_allclose(out_a, out_b, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(hist_a["loss"], hist_b["loss"], rtol=1e-6)
    assert not np.allclose(out_a, out_c)
    assert hist_a["loss"][-1] < hist_a["loss"][0]
    assert all(v * 40 == pytest.approx(round(v * 40)) for v in hist_a["accuracy"])


# -- sklearn ---------------------------------------------------------------------------------------


def test_sklearn_fit_uses_flat_labels_and_records_the_loss_curve() -> None:
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    y = (x[:, :1] > 0).astype(np.int64)
    model, history = sklearn_fit(
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=7, random_state=0), None, None, x, y
    )
    assert sklearn_target(y).shape == (40,)
    assert len(history["loss"]) == 7 and history["loss"] == [float(v) for v in model.loss_curve_]


# -- NaN guard -------------------------------------------------------------------------------------


def test_nan_guard_names_the_first_bad_epoch_and_key() -> None:
    history = {"accuracy": [0.1, math.nan, 0.2, 0.3], "loss": [1.0, 0.9, math.nan, 0.7]}
    history["val_loss"] = [1.0, 0.8, 0.7, math.inf]
    with pytest.raises(NanLossError, match=r"^NaN/inf loss at epoch 3 \(key loss\)$"):
        check_history(history)
    check = check_history(history, "warn")
    assert (check.nan_loss, check.epoch, check.key) == (True, 3, "loss")
    assert check_history({"loss": [0.5, None]}, "warn").epoch == 2
    assert check_history({"loss": [1.0, 0.5], "accuracy": [math.nan]}).nan_loss is False
    with pytest.raises(ValueError, match="nan_loss"):
        check_history({}, "ignore")


def test_nan_guard_on_predictions() -> None:
    good = {"train": np.zeros((3, 2)), "test": None}
    assert check_predictions(good).nan_loss is False
    bad = {"train": np.zeros((3, 2)), "test": np.array([[0.5, np.nan], [np.inf, 0.1]])}
    with pytest.raises(NanLossError, match="split test \\(2 values\\)"):
        check_predictions(bad)
    assert check_predictions(bad, "warn").nan_loss is True


# -- model files -----------------------------------------------------------------------------------


def test_model_formats() -> None:
    assert [model_format_of(lib) for lib in ("keras", "pytorch", "sklearn")] == [
        "keras",
        "torch_state",
        "joblib",
    ]
    assert [model_filename(f) for f in ("keras", "torch_state", "joblib")] == [
        "model.keras",
        "model.pt",
        "model.joblib",
    ]
    with pytest.raises(ValueError, match="model_format"):
        model_filename("h5")


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # inside keras' model.save
def test_save_and_load_every_format(tmp_path) -> None:
    import hashlib

    import torch
    from sklearn.linear_model import LogisticRegression

    from snakelab.tabular.demo.iris import build_keras, build_torch

    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    torch.manual_seed(0)
    hp = {"neuron_count": 5, "learning_rate": 0.03}
    tmodel = build_torch((4,), (3,), **hp)
    opt = torch.optim.Adamax(tmodel.parameters(), lr=0.03)
    saved = save_model(
        tmodel,
        tmp_path / "t",
        "torch_state",
        optimizer=opt,
        fn_build="snakelab.tabular.demo.iris:build_torch",
        hp=hp,
        features_shape=(4,),
        label_shape=(3,),
    )
    assert saved.path == tmp_path / "t" / "model.pt"
    assert saved.sha256 == hashlib.sha256(saved.path.read_bytes()).hexdigest()
    assert saved.bytes == saved.path.stat().st_size
    loaded = load_model(saved.path, "torch_state")
    with torch.no_grad():
        assert torch.equal(loaded(torch.from_numpy(x)), tmodel.eval()(torch.from_numpy(x)))
    state = torch.load(saved.path, weights_only=True)
    assert state["hp"] == hp and state["shapes"] == {"features": [4], "label": [3]}

    kmodel = build_keras((4,), (3,), neuron_count=5)
    kpath = save_model(kmodel, tmp_path / "k", "keras").path
    reloaded = load_model(kpath, "keras")
    np.testing.assert_array_equal(reloaded(x, training=False).numpy(), kmodel(x, training=False).numpy())

    smodel = LogisticRegression().fit(x, [0, 1, 2, 0, 1, 2])
    spath = save_model(smodel, tmp_path / "s", "joblib").path
    np.testing.assert_array_equal(load_model(spath, "joblib").predict_proba(x), smodel.predict_proba(x))
    leftovers = [p.name for p in tmp_path.rglob("*") if p.name.startswith(".")]
    assert leftovers == []
    with pytest.raises(ValueError, match="fn_build"):
        save_model(tmodel, tmp_path / "u", "torch_state")
