"""Fit loops, run context, NaN guard and model files for the tabular pipeline (spec §7).

Importing this package loads NumPy only; TensorFlow, torch and joblib are imported inside the functions
that use them. The library defaults of ``fn_train`` are :func:`keras_fit`, :func:`torch_fit` and
:func:`sklearn_fit`.
"""

from __future__ import annotations

from snakelab.tabular.fit.context import RunContext, current_run, run_context, seed_frameworks
from snakelab.tabular.fit.guard import NAN_POLICIES, NanCheck, NanLossError, check_history, check_predictions
from snakelab.tabular.fit.keras_fit import keras_fit
from snakelab.tabular.fit.models_io import (
    MODEL_FILES,
    SavedModel,
    load_model,
    model_filename,
    model_format_of,
    save_model,
)
from snakelab.tabular.fit.sklearn_fit import sklearn_fit
from snakelab.tabular.fit.torch_fit import torch_fit

__all__ = [
    "MODEL_FILES",
    "NAN_POLICIES",
    "NanCheck",
    "NanLossError",
    "RunContext",
    "SavedModel",
    "check_history",
    "check_predictions",
    "current_run",
    "keras_fit",
    "load_model",
    "model_filename",
    "model_format_of",
    "run_context",
    "save_model",
    "seed_frameworks",
    "sklearn_fit",
    "torch_fit",
]
