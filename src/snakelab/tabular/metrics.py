"""Per-split metrics, plot data and the predictions table of one run (spec §8).

Metrics are computed in the label-encoded space and stored unrounded: ``y`` = encoded labels (one-hot
(n, K), ordinal (n,) or (n, 1), binary 0/1, or regression values), ``pred`` = ordinal predictions (n,)
(regression: values), ``proba`` = probabilities (n, K), or (n, 1)/(n,) for a sigmoid binary model,
``loss`` = the algorithm's loss on (raw model output, y). A metric that is undefined on a split (a class
absent for roc_auc, …) is None, with a warning; it never fails the run.
"""

from __future__ import annotations

import io
import logging
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from snakelab.core.atomic import atomic_path, write_bytes

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

METRICS = {
    "classification_binary": ("accuracy", "f1", "loss", "precision", "recall", "roc_auc"),
    "classification_multi": ("accuracy", "f1", "loss", "precision", "recall", "roc_auc"),
    "regression": ("explained_variance", "loss", "mse", "r2"),
}
PRIMARY_METRIC = {"classification_binary": "accuracy", "classification_multi": "accuracy", "regression": "r2"}
PLOT_KEYS = ("confusion", "roc_fpr", "roc_tpr", "pr_precision", "pr_recall")


@dataclass(frozen=True)
class SplitPredictions:
    """One split of a run: sample indices (rows or windows), encoded labels, predictions, proba, loss."""

    samples: np.ndarray
    y: np.ndarray
    pred: np.ndarray
    proba: np.ndarray | None
    loss: float | None


def is_classification(analysis_type: str) -> bool:
    """True for ``classification_binary`` and ``classification_multi``."""
    if analysis_type not in METRICS:
        raise ValueError(f"analysis_type must be one of {sorted(METRICS)}, got {analysis_type!r}")
    return analysis_type.startswith("classification")


def class_indices(y: Any) -> np.ndarray:
    """Encoded classification labels as int64 class indices (n,): one-hot → argmax, (n, 1) → flat."""
    array = np.asarray(y)
    if array.ndim == 2 and array.shape[1] > 1:
        return np.argmax(array, axis=1).astype(np.int64)
    return array.reshape(len(array)).astype(np.int64)


def onehot(indices: Any, class_count: int) -> np.ndarray:
    """Class indices (n,) as a one-hot float array (n, ``class_count``) over ALL classes."""
    return np.eye(class_count, dtype=np.float64)[np.asarray(indices, dtype=np.int64)]


def positive_proba(proba: Any) -> np.ndarray:
    """P(class 1) of a binary model: the last column of (n, 2) or (n, 1) probabilities, or (n,) as is."""
    array = np.asarray(proba, dtype=np.float64)
    return array.reshape(len(array)) if array.ndim == 1 else array[:, -1]


def class_count_of(analysis_type: str, proba: Any, class_count: int | None) -> int:
    """K: the given count, 2 for binary, else the probability columns."""
    if class_count is not None:
        return int(class_count)
    if analysis_type == "classification_binary":
        return 2
    return int(np.asarray(proba).shape[1])


def _finite_or_none(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _safe(name: str, split: str, fn: Callable[[], Any]) -> float | None:
    """Evaluate a metric; undefined (an exception or a non-finite value) → None with a warning."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = _finite_or_none(fn())
    except (ValueError, ZeroDivisionError, IndexError) as exc:
        log.warning("metric %s undefined on split %s: %s", name, split or "-", exc)
        return None
    if value is None:
        log.warning("metric %s undefined on split %s: not finite", name, split or "-")
    return value


def _multi_roc_auc(truth: np.ndarray, proba: Any, class_count: int) -> float:
    """Weighted one-vs-rest AUC with the one-hot truth over all K classes; a class absent from the split
    (or the only one present) makes it undefined (sklearn would silently give that class weight 0)."""
    from sklearn.metrics import roc_auc_score

    counts = np.bincount(truth, minlength=class_count)
    single = [int(c) for c in np.flatnonzero((counts == 0) | (counts == len(truth)))]
    if single:
        raise ValueError(f"class(es) {single} absent (or alone) in y_true; ROC AUC is not defined")
    return float(
        roc_auc_score(onehot(truth, class_count), np.asarray(proba), average="weighted", multi_class="ovr")
    )


def regression_2d(values: Any) -> np.ndarray:
    """Regression arrays of 3+ dims as (∏ leading dims, last dim); 1-D and 2-D arrays unchanged."""
    array = np.asarray(values, dtype=np.float64)
    return array.reshape(-1, array.shape[-1]) if array.ndim >= 3 else array


def score_split(
    analysis_type: str,
    y: Any,
    pred: Any,
    proba: Any = None,
    loss: float | None = None,
    class_count: int | None = None,
    split: str = "",
) -> dict[str, float | None]:
    """The §8 metrics of one split, ``{name: value or None}`` (names: :data:`METRICS`)."""
    from sklearn import metrics as skm

    scores: dict[str, float | None] = {}
    if is_classification(analysis_type):
        truth, guess = class_indices(y), class_indices(pred)
        k = class_count_of(analysis_type, proba, class_count)
        if analysis_type == "classification_binary":
            average = "binary"
            scores["roc_auc"] = _safe(
                "roc_auc", split, lambda: skm.roc_auc_score(truth, positive_proba(proba))
            )
        else:
            average = "weighted"
            scores["roc_auc"] = _safe("roc_auc", split, lambda: _multi_roc_auc(truth, proba, k))
        scores["accuracy"] = _safe("accuracy", split, lambda: skm.accuracy_score(truth, guess))
        for name, fn in (
            ("precision", skm.precision_score),
            ("recall", skm.recall_score),
            ("f1", skm.f1_score),
        ):
            scores[name] = _safe(
                name, split, lambda fn=fn: fn(truth, guess, average=average, zero_division=0)
            )
    else:
        truth_r = regression_2d(y)
        guess_r = regression_2d(pred).reshape(truth_r.shape)
        scores["r2"] = _safe("r2", split, lambda: skm.r2_score(truth_r, guess_r))
        scores["mse"] = _safe("mse", split, lambda: skm.mean_squared_error(truth_r, guess_r))
        scores["explained_variance"] = _safe(
            "explained_variance",
            split,
            lambda: skm.explained_variance_score(truth_r, guess_r, multioutput="uniform_average"),
        )
    scores["loss"] = None if loss is None else _safe("loss", split, lambda: loss)
    return {name: scores[name] for name in METRICS[analysis_type]}


def score_splits(
    analysis_type: str, outputs: Mapping[str, SplitPredictions], class_count: int | None = None
) -> dict[str, dict[str, float | None]]:
    """``{split: {metric: value}}`` for every split of a run (the content of ``metrics.json``)."""
    return {
        split: score_split(analysis_type, o.y, o.pred, o.proba, o.loss, class_count, split)
        for split, o in outputs.items()
    }


def metric_rows(scores: Mapping[str, Mapping[str, float | None]]) -> list[dict[str, Any]]:
    """``{split: {metric: value}}`` as long rows ``{name, split, value}`` (the ``metric`` table's shape)."""
    return [
        {"name": name, "split": split, "value": value}
        for split, values in scores.items()
        for name, value in values.items()
    ]


# -- plot data -------------------------------------------------------------------------------------


def _curve(fn: Callable[[], tuple[Any, Any, Any]]) -> tuple[np.ndarray, np.ndarray]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            first, second, _ = fn()
    except ValueError:
        return np.empty(0), np.empty(0)
    return np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)


def plot_data_split(
    analysis_type: str, y: Any, pred: Any, proba: Any, class_count: int | None = None
) -> dict[str, np.ndarray]:
    """Plot data of one classification split: confusion matrix over all K classes (rows = truth),
    ROC ``roc_fpr``/``roc_tpr`` and PR ``pr_precision``/``pr_recall``.

    Binary curves use P(class 1); multi-class curves use flattened one-hot truth against flattened
    probabilities (micro, as AIQC). Regression → ``{}`` (its plot reads the predictions table).
    """
    from sklearn import metrics as skm

    if not is_classification(analysis_type):
        return {}
    truth, guess = class_indices(y), class_indices(pred)
    k = class_count_of(analysis_type, proba, class_count)
    if analysis_type == "classification_binary":
        target, score = truth, positive_proba(proba)
    else:
        target, score = onehot(truth, k).ravel(), np.asarray(proba, dtype=np.float64).ravel()
    fpr, tpr = _curve(lambda: skm.roc_curve(target, score))
    precision, recall = _curve(lambda: skm.precision_recall_curve(target, score))
    return {
        "confusion": skm.confusion_matrix(truth, guess, labels=np.arange(k)).astype(np.int64),
        "roc_fpr": fpr,
        "roc_tpr": tpr,
        "pr_precision": precision,
        "pr_recall": recall,
    }


def write_plot_data(path: str | Path, data: Mapping[str, Mapping[str, np.ndarray]]) -> Path:
    """Write ``{split: {key: array}}`` to an ``.npz`` atomically (members named ``<split>/<key>``)."""
    arrays = {
        f"{split}/{key}": np.asarray(value) for split, values in data.items() for key, value in values.items()
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return write_bytes(path, buffer.getvalue())


def read_plot_data(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """Inverse of :func:`write_plot_data`."""
    out: dict[str, dict[str, np.ndarray]] = {}
    with np.load(path, allow_pickle=False) as archive:
        for member in archive.files:
            split, _, key = member.partition("/")
            out.setdefault(split, {})[key] = archive[member]
    return out


# -- predictions table -----------------------------------------------------------------------------


def predictions_frame(
    analysis_type: str,
    outputs: Mapping[str, SplitPredictions],
    class_names: Sequence[Any] | None = None,
    decode: Callable[[np.ndarray], np.ndarray] | None = None,
    target_columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The ``predictions.parquet`` table: ``split, sample, y_true, y_pred, p_<class>…``, one row per sample.

    Classification: labels decoded through ``class_names`` (the K classes in encoded order, e.g. the label
    coder's ``categories_[0]``; default ``0..K−1``). Regression: ``y_true_<col>``/``y_pred_<col>`` per target
    column, values passed through ``decode`` (e.g. the label coder's ``inverse_transform`` on (n, c) arrays).
    Outputs of 3+ dims do not fit a table (write them as ``pred_<split>.npy``): ValueError.
    """
    import pandas as pd

    frames = []
    for split, o in outputs.items():
        columns: dict[str, Any] = {"split": split, "sample": np.asarray(o.samples, dtype=np.int64)}
        if is_classification(analysis_type):
            k = class_count_of(analysis_type, o.proba, None if class_names is None else len(class_names))
            names = np.asarray(list(class_names) if class_names is not None else range(k), dtype=object)
            columns["y_true"] = names[class_indices(o.y)]
            columns["y_pred"] = names[class_indices(o.pred)]
            proba = np.asarray(o.proba, dtype=np.float64)
            if proba.ndim == 1 or proba.shape[1] == 1:
                p = proba.reshape(len(proba))
                proba = np.column_stack([1.0 - p, p])
            for j, name in enumerate(names):
                columns[f"p_{name}"] = proba[:, j]
        else:
            truth, guess = np.asarray(o.y, dtype=np.float64), np.asarray(o.pred, dtype=np.float64)
            if truth.ndim >= 3 or guess.ndim >= 3:
                raise ValueError(
                    f"split {split}: regression output of {guess.ndim} dims; write pred_{split}.npy"
                )
            truth = truth.reshape(len(truth), -1)
            guess = guess.reshape(truth.shape)
            if decode is not None:
                truth, guess = np.asarray(decode(truth)), np.asarray(decode(guess))
                truth, guess = truth.reshape(len(truth), -1), guess.reshape(len(guess), -1)
            cols = (
                list(target_columns)
                if target_columns is not None
                else [str(j) for j in range(truth.shape[1])]
            )
            if target_columns is None and len(cols) == 1:
                columns["y_true"], columns["y_pred"] = truth[:, 0], guess[:, 0]
            else:
                for j, col in enumerate(cols):
                    columns[f"y_true_{col}"] = truth[:, j]
                for j, col in enumerate(cols):
                    columns[f"y_pred_{col}"] = guess[:, j]
        frames.append(pd.DataFrame(columns))
    frame = pd.concat(frames, ignore_index=True)
    if "y_true" in frame and frame["y_true"].dtype == object:
        frame["y_true"] = frame["y_true"].map(_plain)
        frame["y_pred"] = frame["y_pred"].map(_plain)
    return frame


def _plain(value: Any) -> Any:
    """NumPy scalars as Python scalars, so an object column of class names is homogeneous in parquet."""
    return value.item() if isinstance(value, np.generic) else value


def write_predictions(path: str | Path, frame: pd.DataFrame) -> Path:
    """Write the predictions table as zstd parquet (pyarrow, no index) atomically; same frame → same bytes."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, engine="pyarrow", index=False, compression="zstd")
    return Path(path)
