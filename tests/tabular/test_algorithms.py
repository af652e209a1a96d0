"""Algorithm references, code hashes, library defaults and one model fit (spec §7)."""

from __future__ import annotations

import hashlib
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from snakelab.core.errors import InputError
from snakelab.tabular.algorithms import (
    AlgorithmSpec,
    algorithm_spec,
    code_hashes,
    load_functions,
    module_file,
    reference_of,
    resolve_reference,
    split_train_output,
    train_model,
)
from snakelab.tabular.demo import iris
from snakelab.tabular.fit import run_context, seed_frameworks

KERAS = "snakelab.tabular.demo.iris:build_keras"
TORCH = "snakelab.tabular.demo.iris:build_torch"
SKLEARN = "snakelab.tabular.demo.iris:build_sklearn"


class Holder:
    @staticmethod
    def build(features_shape, label_shape, **hp):
        return iris.build_sklearn(features_shape, label_shape, **hp)


def history_train(model, loser, optimizer, train_X, train_y, eval_X, eval_y, **hp):
    model.fit(train_X, train_y.ravel())
    return model, {"loss": np.array([0.5, 0.25], dtype=np.float32)}


def bare_train(model, loser, optimizer, train_X, train_y, eval_X, eval_y, **hp):
    model.fit(train_X, train_y.ravel())
    return model


NOT_CALLABLE = 3


# -- references ------------------------------------------------------------------------------------


def test_callables_become_module_qualname_references() -> None:
    assert reference_of(iris.build_keras, "fn_build") == KERAS
    assert reference_of(Holder.build, "fn_build") == f"{__name__}:Holder.build"
    assert resolve_reference(f"{__name__}:Holder.build", "fn_build") is Holder.build
    assert reference_of(KERAS, "fn_build") == KERAS


def test_main_lambda_and_nested_functions_are_rejected() -> None:
    namespace: dict = {"__name__": "__main__"}
    exec("def fn_build(features_shape, label_shape, **hp):\n    return None\n", namespace)
    with pytest.raises(InputError) as err:
        algorithm_spec("sklearn", "classification_multi", namespace["fn_build"])
    assert str(err.value) == "fn_build: must be importable from a module (got __main__.fn_build)"
    with pytest.raises(
        InputError, match=r"fn_train: must be importable from a module \(got __main__.train\)"
    ):
        reference_of("__main__:train", "fn_train")
    with pytest.raises(InputError, match="<lambda>"):
        reference_of(lambda *a, **k: None, "fn_lose")

    def nested(features_shape, label_shape, **hp):
        return None

    with pytest.raises(InputError, match="<locals>"):
        reference_of(nested, "fn_build")
    with pytest.raises(InputError, match="does not resolve back"):
        reference_of(Holder().build.__get__(1), "fn_build")


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("no_such_package.models:build", "cannot import module 'no_such_package.models' of"),
        ("snakelab.tabular.demo.iris:build_nothing", "has no attribute 'build_nothing'"),
        (f"{__name__}:NOT_CALLABLE", "is not callable"),
        ("snakelab.tabular.demo.iris.build_keras", "expected a 'module:qualname' reference"),
        ("snakelab.tabular.demo.iris:build keras", "expected a 'module:qualname' reference"),
    ],
)
def test_bad_references_are_one_line_errors(ref: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        resolve_reference(ref, "fn_build")
    text = str(err.value)
    assert text.startswith("fn_build: ") and message in text and "\n" not in text


def test_code_hashes_are_the_module_file_and_the_dedented_source() -> None:
    path = Path(iris.__file__)
    hashes = code_hashes(KERAS, "fn_build")
    assert hashes["module_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    source = textwrap.dedent(inspect.getsource(iris.build_keras))
    assert hashes["source_sha256"] == hashlib.sha256(source.encode()).hexdigest()
    nested = code_hashes(f"{__name__}:Holder.build", "fn_build")
    assert (
        nested["source_sha256"]
        == hashlib.sha256(textwrap.dedent(inspect.getsource(Holder.build)).encode()).hexdigest()
    )
    assert module_file(KERAS) == str(path)
    assert module_file("builtins:len") is None
    assert code_hashes("builtins:len", "fn_lose") == {"module_sha256": None, "source_sha256": None}


# -- algorithm spec --------------------------------------------------------------------------------


def test_algorithm_spec_row_hash_and_module_files() -> None:
    spec = algorithm_spec("keras", "classification_multi", iris.build_keras)
    assert isinstance(spec, AlgorithmSpec)
    assert spec.references() == {
        "fn_build": KERAS,
        "fn_train": None,
        "fn_predict": None,
        "fn_lose": None,
        "fn_optimize": None,
    }
    assert list(spec.code) == ["fn_build"]
    assert len(spec.algorithm_hash) == 64
    assert spec.module_files() == [iris.__file__]
    assert algorithm_spec("keras", "classification_multi", KERAS) == spec
    other = {
        algorithm_spec("keras", "classification_binary", KERAS).algorithm_hash,
        algorithm_spec("pytorch", "classification_multi", KERAS).algorithm_hash,
        algorithm_spec("keras", "classification_multi", KERAS, fn_train=history_train).algorithm_hash,
        spec.algorithm_hash,
    }
    assert len(other) == 4
    from snakelab.store.models import Algorithm

    own = {c.name for c in Algorithm.__table__.columns} - {
        "id",
        "created_at",
        "updated_at",
        "name",
        "description",
        "is_starred",
    }
    assert set(spec.as_row()) == own


def test_algorithm_hash_follows_the_module_file(tmp_path: Path) -> None:
    package = tmp_path / "edited_models_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    module = package / "nets.py"
    module.write_text("def build(features_shape, label_shape, **hp):\n    return None\n")
    sys.path.insert(0, str(tmp_path))
    try:
        first = algorithm_spec("sklearn", "regression", "edited_models_pkg.nets:build")
        module.write_text("def build(features_shape, label_shape, **hp):\n    return None\n\n\nX = 1\n")
        second = algorithm_spec("sklearn", "regression", "edited_models_pkg.nets:build")
        assert second.module_files() == [str(module)]
    finally:
        sys.path.remove(str(tmp_path))
        for name in ("edited_models_pkg.nets", "edited_models_pkg"):
            sys.modules.pop(name, None)
    assert first.code["fn_build"]["module_sha256"] != second.code["fn_build"]["module_sha256"]
    assert first.algorithm_hash != second.algorithm_hash


def test_algorithm_spec_checks_library_type_and_build() -> None:
    with pytest.raises(InputError, match="library: expected one of keras, pytorch, sklearn"):
        algorithm_spec("jax", "regression", KERAS)
    with pytest.raises(InputError, match="analysis_type"):
        algorithm_spec("keras", "clustering", KERAS)
    with pytest.raises(InputError, match="fn_build: required"):
        algorithm_spec("keras", "regression", None)


def test_importing_the_algorithms_package_loads_no_numpy() -> None:
    code = (
        "import sys; import snakelab.tabular.algorithms as a, snakelab.tabular.hyperparams; "
        "a.module_file('snakelab.tabular.demo.iris:build_keras'); "
        "print(sorted(m for m in ('numpy', 'pandas', 'torch', 'tensorflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- defaults and training -------------------------------------------------------------------------


def test_library_default_losses_and_optimizers() -> None:
    import keras
    import torch

    from snakelab.tabular.algorithms.defaults import sklearn_log_loss, sklearn_mae

    def fns(library: str, analysis: str, build: str, onehot: bool = False):
        return load_functions(algorithm_spec(library, analysis, build), label_onehot=onehot)

    assert isinstance(
        fns("keras", "classification_multi", KERAS, True).lose(), keras.losses.CategoricalCrossentropy
    )
    assert isinstance(
        fns("keras", "classification_multi", KERAS).lose(), keras.losses.SparseCategoricalCrossentropy
    )
    assert isinstance(fns("keras", "classification_binary", KERAS).lose(), keras.losses.BinaryCrossentropy)
    assert isinstance(fns("keras", "regression", KERAS).lose(), keras.losses.MeanAbsoluteError)
    assert isinstance(fns("pytorch", "classification_multi", TORCH).lose(), torch.nn.CrossEntropyLoss)
    assert isinstance(fns("pytorch", "classification_binary", TORCH).lose(), torch.nn.BCELoss)
    assert isinstance(fns("pytorch", "regression", TORCH).lose(), torch.nn.L1Loss)
    assert fns("sklearn", "classification_multi", SKLEARN).lose() is sklearn_log_loss
    assert fns("sklearn", "regression", SKLEARN).lose() is sklearn_mae

    keras_fns = fns("keras", "classification_multi", KERAS)
    optimizer = keras_fns.make_optimizer(None, {"learning_rate": 0.05})
    assert isinstance(optimizer, keras.optimizers.Adamax)
    assert float(optimizer.learning_rate) == pytest.approx(0.05)
    assert float(keras_fns.make_optimizer(None, {}).learning_rate) == pytest.approx(0.01)
    torch_fns = fns("pytorch", "classification_multi", TORCH)
    module = iris.build_torch((4,), (3,), neuron_count=3)
    topt = torch_fns.make_optimizer(module, {"learning_rate": 0.03})
    assert isinstance(topt, torch.optim.Adamax) and topt.param_groups[0]["lr"] == 0.03
    assert fns("sklearn", "classification_multi", SKLEARN).make_optimizer(None, {}) is None

    from snakelab.tabular.fit import keras_fit, sklearn_fit, torch_fit

    assert (keras_fns.train, torch_fns.train) == (keras_fit, torch_fit)
    assert fns("sklearn", "regression", SKLEARN).train is sklearn_fit


def test_sklearn_default_losses_by_hand() -> None:
    from snakelab.tabular.algorithms.defaults import sklearn_log_loss, sklearn_mae

    proba = np.array([[0.8, 0.1, 0.1], [0.2, 0.5, 0.3]], dtype=np.float32)
    assert sklearn_log_loss(np.array([[0], [2]]), proba) == pytest.approx(
        -(np.log(0.8) + np.log(0.3)) / 2, rel=1e-6
    )
    assert sklearn_log_loss([1, 0], np.array([[0.9], [0.4]])) == pytest.approx(
        -(np.log(0.9) + np.log(0.6)) / 2
    )
    assert sklearn_mae(np.array([[1.0], [3.0]]), np.array([2.0, 2.5])) == pytest.approx(0.75)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_train_model_and_train_output_forms(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(30, 4))
    y = (x[:, :1] > 0).astype(np.int64)
    spec = algorithm_spec("sklearn", "classification_binary", SKLEARN, fn_train=history_train)
    fns = load_functions(spec)
    with run_context(7, "classification_binary"):
        trained = train_model(fns, (4,), (1,), {"neuron_count": 3, "epoch_count": 5}, x, y)
    assert trained.history == {"loss": [0.5, 0.25]} and trained.fit_s > 0
    assert trained.model.random_state == 7 and trained.model.hidden_layer_sizes == (3,)
    pred, proba = fns.predictions(trained.model, x)
    assert pred.shape == (30,) and proba.shape == (30, 2)
    assert fns.loss(trained.loser, trained.model, x, y) == pytest.approx(
        -np.mean(np.log(proba[np.arange(30), y[:, 0]]))
    )
    bare = load_functions(algorithm_spec("sklearn", "classification_binary", SKLEARN, fn_train=bare_train))
    with run_context(7, "classification_binary"):
        assert train_model(bare, (4,), (1,), {"epoch_count": 2}, x, y).history == {}

    class Callback:
        history: ClassVar[dict] = {"loss": [np.float32(0.5)]}

    class Fitted:
        history = Callback()

    assert split_train_output(Fitted(), "keras")[1] == {"loss": [0.5]}
    assert split_train_output(Fitted(), "pytorch")[1] == {}


def test_default_predict_and_loss_per_library() -> None:
    import torch

    x = np.random.default_rng(1).normal(size=(9, 4)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2], dtype=np.int64).reshape(-1, 1)

    torch_fns = load_functions(algorithm_spec("pytorch", "classification_multi", TORCH))
    seed_frameworks(0, "pytorch")
    module = iris.build_torch((4,), (3,), neuron_count=4)
    pred, proba = torch_fns.predictions(module, x)
    with torch.no_grad():
        logits = module(torch.from_numpy(x))
    np.testing.assert_allclose(proba, torch.softmax(logits, -1).numpy(), rtol=1e-6)
    np.testing.assert_array_equal(pred, proba.argmax(1))
    expected = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y[:, 0])).item()
    assert torch_fns.loss(torch.nn.CrossEntropyLoss(), module, x, y) == pytest.approx(expected)

    keras_fns = load_functions(algorithm_spec("keras", "classification_multi", KERAS), label_onehot=True)
    seed_frameworks(0, "keras")
    kmodel = iris.build_keras((4,), (3,), neuron_count=4)
    kpred, kproba = keras_fns.predictions(kmodel, x)
    assert kproba.shape == (9, 3) and np.allclose(kproba.sum(1), 1, atol=1e-6)
    np.testing.assert_array_equal(kpred, kproba.argmax(1))
    onehot = np.eye(3, dtype=np.float32)[y[:, 0]]
    manual = -np.mean(np.log(kproba[np.arange(9), y[:, 0]]))
    assert keras_fns.loss(keras_fns.lose(), kmodel, x, onehot) == pytest.approx(manual, rel=1e-5)
