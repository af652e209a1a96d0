"""One model fit through an algorithm's functions: build → lose → optimize → train (spec §7 step 4)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from snakelab.tabular.algorithms.defaults import Functions
from snakelab.tabular.fit.common import float_history


@dataclass
class Trained:
    """A fitted model, its loss and optimizer objects, history ``{key: [float per epoch]}``, ``fit_s`` (s)."""

    model: Any
    loser: Any
    optimizer: Any
    history: dict[str, list[float]]
    fit_s: float


def split_train_output(output: Any, library: str) -> tuple[Any, dict[str, list[float]]]:
    """``fn_train``'s result as ``(model, history)``.

    A ``(model, history)`` pair is taken as it is; a bare model gets ``model.history.history`` for Keras
    (what ``model.fit`` leaves behind) and ``{}`` otherwise.
    """
    if isinstance(output, tuple) and len(output) == 2 and isinstance(output[1], Mapping):
        model, history = output
        return model, float_history(history)
    model = output
    if library == "keras":
        recorded = getattr(getattr(model, "history", None), "history", None)
        if isinstance(recorded, Mapping):
            return model, float_history(recorded)
    return model, {}


def train_model(
    functions: Functions,
    features_shape: Any,
    label_shape: tuple[int, ...],
    hp: Mapping[str, Any],
    train_X: Any,
    train_y: Any,
    eval_X: Any = None,
    eval_y: Any = None,
) -> Trained:
    """Build, fit and time one model; the seed comes from the enclosing ``run_context``.

    ``features_shape``: per-sample shape tuple (a list of tuples for several features); ``label_shape``:
    per-sample label shape, ``(K,)`` for multi-class whatever the encoding. ``fit_s`` is the wall time of
    ``fn_train`` alone, in seconds.
    """
    params = dict(hp)
    model = functions.build(features_shape, label_shape, **params)
    loser = functions.lose(**params)
    optimizer = functions.make_optimizer(model, params)
    started = time.perf_counter()
    output = functions.train(model, loser, optimizer, train_X, train_y, eval_X, eval_y, **params)
    fit_s = time.perf_counter() - started
    model, history = split_train_output(output, functions.library)
    return Trained(model, loser, optimizer, history, fit_s)
