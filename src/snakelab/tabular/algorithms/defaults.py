"""Library defaults for NULL ``fn_*`` and the resolved function set of an algorithm (spec §7).

Defaults: loss — keras Binary/Categorical (one-hot label) / SparseCategorical (ordinal label) cross-entropy
or MeanAbsoluteError; pytorch BCELoss (the model ends in a sigmoid) / CrossEntropyLoss (the model outputs
logits) / L1Loss; sklearn log_loss / mean_absolute_error. Optimizer: Adamax(learning_rate =
``hp.get("learning_rate", 0.01)``). fn_train: :func:`~snakelab.tabular.fit.keras_fit`,
:func:`~snakelab.tabular.fit.torch_fit`, :func:`~snakelab.tabular.fit.sklearn_fit`. fn_predict: one forward
pass (``model(x, training=False)`` / ``model.eval()`` + ``no_grad`` / ``predict_proba``) returning
``(pred, proba)`` for classification and ``pred`` for regression. Frameworks are imported inside the
functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from snakelab.tabular.algorithms.references import resolve_reference
from snakelab.tabular.algorithms.spec import AlgorithmSpec
from snakelab.tabular.fit.common import as_feature_list
from snakelab.tabular.fit.keras_fit import keras_fit
from snakelab.tabular.fit.sklearn_fit import sklearn_features, sklearn_fit, sklearn_target
from snakelab.tabular.fit.torch_fit import torch_features, torch_fit, torch_target

DEFAULT_LEARNING_RATE = 0.01


# -- losses ----------------------------------------------------------------------------------------


def keras_loss(analysis_type: str, label_onehot: bool = False, **hp: Any) -> Any:
    """The default Keras loss for an analysis type (``label_onehot``: the label is one-hot encoded)."""
    import keras

    if analysis_type == "classification_binary":
        return keras.losses.BinaryCrossentropy()
    if analysis_type == "classification_multi":
        if label_onehot:
            return keras.losses.CategoricalCrossentropy()
        return keras.losses.SparseCategoricalCrossentropy()
    return keras.losses.MeanAbsoluteError()


def torch_loss(analysis_type: str, **hp: Any) -> Any:
    """The default PyTorch loss: BCELoss, CrossEntropyLoss (on logits) or L1Loss."""
    import torch

    if analysis_type == "classification_binary":
        return torch.nn.BCELoss()
    if analysis_type == "classification_multi":
        return torch.nn.CrossEntropyLoss()
    return torch.nn.L1Loss()


def sklearn_log_loss(y: Any, proba: Any) -> float:
    """``log_loss`` over classes 0..K−1 (K = number of probability columns; 2 for a single column).

    Rows are renormalised in float64: float32 estimators' probabilities miss 1 by ~1e-7.
    """
    from sklearn.metrics import log_loss

    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim == 1 or proba.shape[1] == 1:
        p = proba.reshape(-1)
        proba = np.column_stack([1.0 - p, p])
    proba = proba / proba.sum(axis=1, keepdims=True)
    return float(log_loss(sklearn_target(y), proba, labels=np.arange(proba.shape[1])))


def sklearn_mae(y: Any, pred: Any) -> float:
    """``mean_absolute_error`` with ``y`` (n, 1) matched to 1-D predictions."""
    from sklearn.metrics import mean_absolute_error

    pred = np.asarray(pred)
    y = np.asarray(y).reshape(pred.shape)
    return float(mean_absolute_error(y.reshape(len(y), -1), pred.reshape(len(pred), -1)))


def sklearn_loss(analysis_type: str, **hp: Any) -> Callable[[Any, Any], float]:
    """The default scikit-learn loss: :func:`sklearn_log_loss` or :func:`sklearn_mae`."""
    return sklearn_mae if analysis_type == "regression" else sklearn_log_loss


# -- optimizers ------------------------------------------------------------------------------------


def keras_adamax(**hp: Any) -> Any:
    """``keras.optimizers.Adamax(learning_rate=hp.get("learning_rate", 0.01))``."""
    import keras

    return keras.optimizers.Adamax(learning_rate=hp.get("learning_rate", DEFAULT_LEARNING_RATE))


def torch_adamax(model: Any, **hp: Any) -> Any:
    """``torch.optim.Adamax(model.parameters(), lr=hp.get("learning_rate", 0.01))``."""
    import torch

    return torch.optim.Adamax(model.parameters(), lr=hp.get("learning_rate", DEFAULT_LEARNING_RATE))


# -- raw outputs and predictions -------------------------------------------------------------------


def keras_output(model: Any, features: Any) -> np.ndarray:
    """``model(x, training=False)`` as a NumPy array (x: one float32 array or a list of them)."""
    import keras

    xs = [np.asarray(x, dtype=np.float32) for x in as_feature_list(features)]
    output = model(xs if isinstance(features, (list, tuple)) else xs[0], training=False)
    return np.asarray(keras.ops.convert_to_numpy(output))


def torch_output(model: Any, features: Any) -> Any:
    """``model(*features)`` in eval mode without gradients (a tensor: logits for the default multi-class)."""
    import torch

    model.eval()
    with torch.no_grad():
        return model(*torch_features(features))


def sklearn_output(analysis_type: str, model: Any, features: Any) -> np.ndarray:
    """``predict_proba`` (classification) or ``predict`` (regression) on 2-D features."""
    x = sklearn_features(features)
    if analysis_type == "regression":
        return np.asarray(model.predict(x))
    return np.asarray(model.predict_proba(x))


def _classify(proba: np.ndarray, analysis_type: str) -> tuple[np.ndarray, np.ndarray]:
    if analysis_type == "classification_binary" and (proba.ndim == 1 or proba.shape[-1] == 1):
        return (proba.reshape(len(proba)) > 0.5).astype(np.int64), proba
    return np.argmax(proba, axis=-1).astype(np.int64), proba


def keras_predict(analysis_type: str, model: Any, features: Any) -> Any:
    """Default Keras fn_predict: ``(argmax or threshold 0.5, output)``; regression: the output."""
    output = keras_output(model, features)
    return output if analysis_type == "regression" else _classify(output, analysis_type)


def torch_predict(analysis_type: str, model: Any, features: Any) -> Any:
    """Default PyTorch fn_predict: softmax of the logits (multi), sigmoid output (binary) or the output."""
    import torch

    output = torch_output(model, features)
    if analysis_type == "classification_multi":
        output = torch.softmax(output, dim=-1)
    array = output.numpy()
    return array if analysis_type == "regression" else _classify(array, analysis_type)


def sklearn_predict(analysis_type: str, model: Any, features: Any) -> Any:
    """Default scikit-learn fn_predict: ``(predict, predict_proba)``; regression: ``predict``."""
    x = sklearn_features(features)
    pred = np.asarray(model.predict(x))
    if analysis_type == "regression":
        return pred
    return pred, np.asarray(model.predict_proba(x))


# -- the resolved set ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Functions:
    """An algorithm's callables with library defaults filled in.

    ``build(features_shape, label_shape, **hp)``; ``lose(**hp)``; ``optimize(**hp)`` (keras, sklearn) or
    ``optimize(model, **hp)`` (pytorch; None for sklearn without fn_optimize); ``train(model, loser,
    optimizer, train_X, train_y, eval_X, eval_y, **hp)``; ``predict(model, X)``.
    """

    library: str
    analysis_type: str
    build: Callable[..., Any]
    train: Callable[..., Any]
    predict: Callable[..., Any]
    lose: Callable[..., Any]
    optimize: Callable[..., Any] | None

    def make_optimizer(self, model: Any, hp: dict[str, Any]) -> Any:
        """The optimizer for ``model`` (pytorch passes the model; keras and sklearn do not)."""
        if self.optimize is None:
            return None
        if self.library == "pytorch":
            return self.optimize(model, **hp)
        return self.optimize(**hp)

    def output(self, model: Any, features: Any) -> Any:
        """The raw model output the loss is computed on (Keras array, torch tensor, sklearn proba/pred)."""
        if self.library == "keras":
            return keras_output(model, features)
        if self.library == "pytorch":
            return torch_output(model, features)
        return sklearn_output(self.analysis_type, model, features)

    def loss(self, loser: Any, model: Any, features: Any, labels: Any) -> float:
        """The algorithm's loss on (raw model output, encoded labels), as a float."""
        output = self.output(model, features)
        if self.library == "keras":
            import keras

            return float(keras.ops.convert_to_numpy(loser(np.asarray(labels), output)))
        if self.library == "pytorch":
            return float(loser(output, torch_target(labels, loser)).item())
        return float(loser(labels, output))

    def predictions(self, model: Any, features: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """``(pred, proba)`` from fn_predict; ``proba`` is None for regression."""
        result = self.predict(model, features)
        if self.analysis_type == "regression":
            return np.asarray(result), None
        pred, proba = result
        return np.asarray(pred), np.asarray(proba)


_TRAIN = {"keras": keras_fit, "pytorch": torch_fit, "sklearn": sklearn_fit}
_PREDICT = {"keras": keras_predict, "pytorch": torch_predict, "sklearn": sklearn_predict}
_OPTIMIZE = {"keras": keras_adamax, "pytorch": torch_adamax, "sklearn": None}


def _default_loss(library: str, analysis_type: str, label_onehot: bool) -> Callable[..., Any]:
    if library == "keras":
        return partial(keras_loss, analysis_type, label_onehot)
    if library == "pytorch":
        return partial(torch_loss, analysis_type)
    return partial(sklearn_loss, analysis_type)


def load_functions(spec: AlgorithmSpec, label_onehot: bool = False) -> Functions:
    """Import an algorithm's functions (in the worker) and fill NULL ones with the library defaults.

    ``label_onehot``: the label coder one-hot encodes (Keras multi-class then defaults to
    CategoricalCrossentropy instead of SparseCategoricalCrossentropy).
    """

    def given(field: str) -> Callable[..., Any] | None:
        ref = getattr(spec, field)
        return None if ref is None else resolve_reference(ref, field)

    library, analysis = spec.library, spec.analysis_type
    return Functions(
        library=library,
        analysis_type=analysis,
        build=resolve_reference(spec.fn_build, "fn_build"),
        train=given("fn_train") or _TRAIN[library],
        predict=given("fn_predict") or partial(_PREDICT[library], analysis),
        lose=given("fn_lose") or _default_loss(library, analysis, label_onehot),
        optimize=given("fn_optimize") or _OPTIMIZE[library],
    )
