"""What the fit loops share: epoch/batch settings, feature lists, shuffled batch indices, history floats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

DEFAULT_EPOCHS = 30
DEFAULT_BATCH_SIZE = 5


def epochs_of(hp: Mapping[str, Any]) -> int:
    """``epoch_count`` (or ``epochs``) from the hyperparameters; 30 when neither is set."""
    value = hp.get("epoch_count", hp.get("epochs", DEFAULT_EPOCHS))
    return _positive_int(value, "epoch_count")


def batch_size_of(hp: Mapping[str, Any]) -> int:
    """``batch_size`` from the hyperparameters; 5 when it is not set."""
    return _positive_int(hp.get("batch_size", DEFAULT_BATCH_SIZE), "batch_size")


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"hyperparameter {name} must be a positive integer, got {value!r}")
    return int(value)


def as_feature_list(features: Any) -> list[Any]:
    """One feature array as ``[array]``; a list/tuple of arrays (several features) as a list."""
    if isinstance(features, (list, tuple)):
        return list(features)
    return [features]


def sample_count(features: Sequence[Any], labels: Any) -> int:
    """The common number of samples (first axis) of every feature and the labels."""
    counts = {len(x) for x in features} | {len(labels)}
    if len(counts) != 1:
        raise ValueError(f"features and labels disagree on the number of samples: {sorted(counts)}")
    return counts.pop()


def batch_indices(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch: a permutation of ``range(n)`` cut into batches of ``batch_size`` (last partial batch kept).

    The same index arrays select the features AND the labels, so a sample keeps its label (the AIQC
    PyTorch loop shuffled them separately).
    """
    order = rng.permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def float_history(history: Mapping[str, Sequence[Any]]) -> dict[str, list[float]]:
    """``{key: [float per epoch]}`` from any mapping of sequences of numbers (tensors, numpy scalars)."""
    return {str(k): [float(v) for v in values] for k, values in history.items()}


def empty_history(classification: bool, evaluate: bool) -> dict[str, list[float]]:
    """The per-epoch history of a fit loop: ``loss`` (+ ``accuracy`` for classifiers), and the same keys
    prefixed ``val_`` when an evaluation split is given; every list starts empty."""
    keys = ["loss", "accuracy"] if classification else ["loss"]
    if evaluate:
        keys += [f"val_{k}" for k in keys]
    return {k: [] for k in keys}
