"""The iris demo's model builders, referenced from config as ``snakelab.tabular.demo.iris:build_*``.

Signature (AIQC's): ``build_*(features_shape, label_shape, **hp)`` with per-sample shapes, ``(4,)`` and
``(3,)`` for iris. Training and prediction use the library defaults (``snakelab.tabular.fit:keras_fit`` /
``torch_fit`` / ``sklearn_fit``, Adamax(learning_rate)). The demo grid is ``neuron_count: [9, 12],
batch_size: [3], learning_rate: [0.03, 0.05], epoch_count: [30, 60]`` (8 combos). Frameworks are imported
inside the builders, so this module imports cheaply at workflow parse time.
"""

from __future__ import annotations

import math
from typing import Any

from snakelab.tabular.fit.context import current_run


def _width(shape: Any) -> int:
    return math.prod(int(d) for d in shape)


def build_keras(features_shape: tuple[int, ...], label_shape: tuple[int, ...], **hp: Any) -> Any:
    """Input(features) → Dense(neuron_count, relu, he_uniform) → Dense(K, softmax) (sigmoid when K = 1).

    The reference TensorFlow multi-class tutorial's network; ``neuron_count`` defaults to 12.
    """
    import keras

    classes = _width(label_shape)
    return keras.Sequential(
        [
            keras.Input(shape=tuple(features_shape)),
            keras.layers.Dense(
                hp.get("neuron_count", 12), activation="relu", kernel_initializer="he_uniform"
            ),
            keras.layers.Dense(classes, activation="sigmoid" if classes == 1 else "softmax"),
        ]
    )


def build_torch(features_shape: tuple[int, ...], label_shape: tuple[int, ...], **hp: Any) -> Any:
    """Linear(features, n) → ReLU → Linear(n, K) (logits; CrossEntropyLoss applies the softmax).

    The hidden weights are initialised with ``kaiming_uniform_(nonlinearity="relu")``; ``neuron_count``
    (n) defaults to 12.
    """
    import torch

    neurons = hp.get("neuron_count", 12)
    hidden = torch.nn.Linear(_width(features_shape), neurons)
    torch.nn.init.kaiming_uniform_(hidden.weight, nonlinearity="relu")
    return torch.nn.Sequential(hidden, torch.nn.ReLU(), torch.nn.Linear(neurons, _width(label_shape)))


def build_sklearn(features_shape: tuple[int, ...], label_shape: tuple[int, ...], **hp: Any) -> Any:
    """``MLPClassifier`` with the demo's hyperparameters, seeded from the run (fast workflow tests).

    One hidden layer of ``neuron_count`` relu units, Adam with ``learning_rate``, ``batch_size``, and
    ``epoch_count`` epochs (``max_iter``; no early stop).
    """
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=(hp.get("neuron_count", 12),),
        learning_rate_init=hp.get("learning_rate", 0.01),
        batch_size=hp.get("batch_size", 5),
        max_iter=hp.get("epoch_count", 30),
        n_iter_no_change=hp.get("epoch_count", 30),
        tol=0.0,
        random_state=current_run().seed,
    )
