"""The default scikit-learn ``fn_train``: ``estimator.fit`` on 2-D features; the loss curve is the history."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np

from snakelab.tabular.fit.common import as_feature_list, float_history

log = logging.getLogger(__name__)


def sklearn_features(features: Any) -> np.ndarray:
    """Feature array(s) as one 2-D array (n, columns): each feature flattened per sample, then stacked."""
    arrays = [np.asarray(x) for x in as_feature_list(features)]
    return np.hstack([x.reshape(len(x), -1) for x in arrays])


def sklearn_target(labels: Any) -> np.ndarray:
    """Labels of shape (n, 1) as (n,) (what estimators expect); other shapes unchanged."""
    array = np.asarray(labels)
    if array.ndim == 2 and array.shape[1] == 1:
        return array[:, 0]
    return array


def sklearn_fit(
    model: Any,
    loser: Any,
    optimizer: Any,
    train_X: Any,
    train_y: Any,
    eval_X: Any = None,
    eval_y: Any = None,
    **hp: Any,
) -> tuple[Any, dict[str, list[float]]]:
    """``model.fit(X, y)``; the history is ``{"loss": loss_curve_}`` when the estimator records one.

    ``loser``, ``optimizer``, ``eval_X``/``eval_y`` and ``hp`` are accepted for the common ``fn_train``
    signature; the estimator's own parameters come from ``fn_build``. A ``ConvergenceWarning`` (an
    iterative estimator used its whole epoch budget, as the demo intends) is logged, not raised as a warning.
    """
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(sklearn_features(train_X), sklearn_target(train_y))
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            log.info("%s: %s", type(model).__name__, warning.message)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    curve = getattr(model, "loss_curve_", None)
    return model, float_history({"loss": curve} if curve is not None else {})
