"""Permutation feature importance on the evaluation split (spec §8, D3).

Baseline L0 = the loss on key_evaluation. For each non-image feature ``f`` and each encoded column ``j``
(one-hot columns separately), for r = 1..permute_count: column ``j`` is permuted across samples (for 3+
dims, over all values of that column, as AIQC) with ``default_rng(derive_seed(fi_seed, f, j))`` and the
loss L_r is recomputed. Stored per column: median, mean and sd (ddof 1; None for one permutation) of the
impacts L_r − L0, and the impacts themselves. It needs no hyperparameters (AIQC crashed without them)
and is computed on one split only (AIQC used all splits concatenated).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core.atomic import write_text
from snakelab.tabular.seeds import derive_seed


@dataclass(frozen=True)
class Importance:
    """One run's importance ``{feature_idx: {column: {median, mean, sd, loss_impacts}}}`` and provenance."""

    feature_importance: dict[str, dict[str, dict[str, Any]]]
    baseline_loss: float
    permute_count: int
    fi_seed: int
    fi_split: str

    def as_json(self) -> dict[str, Any]:
        """The ``importance.json`` document."""
        return {
            "fi_split": self.fi_split,
            "fi_seed": self.fi_seed,
            "permute_count": self.permute_count,
            "baseline_loss": self.baseline_loss,
            "feature_importance": self.feature_importance,
        }


def column_seed(fi_seed: int, feature_idx: int, column_idx: int) -> int:
    """``derive_seed(fi_seed, feature_idx, column_idx)``: the seed of one column's permutations."""
    return derive_seed(fi_seed, feature_idx, column_idx)


def permute_column(array: np.ndarray, column: int, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``array`` (n, …, c) whose last-axis ``column`` is permuted over all its values."""
    out = np.array(array, copy=True)
    values = out[..., column].reshape(-1)
    out[..., column] = rng.permutation(values).reshape(out[..., column].shape)
    return out


def _impact_stats(impacts: list[float]) -> dict[str, Any]:
    values = np.asarray(impacts, dtype=np.float64)
    return {
        "median": float(np.median(values)),
        "mean": float(np.mean(values)),
        "sd": float(np.std(values, ddof=1)) if len(impacts) > 1 else None,
        "loss_impacts": impacts,
    }


def permutation_importance(
    loss: Callable[[list[np.ndarray]], float],
    features: Sequence[np.ndarray],
    column_names: Sequence[Sequence[str]],
    permute_count: int,
    fi_seed: int,
    fi_split: str,
    skip_features: Collection[int] = (),
) -> Importance:
    """Permutation importance of every encoded column of every feature not in ``skip_features`` (images).

    ``loss(features) -> float``: the algorithm's loss of the trained model on the given feature arrays
    against the split's labels. ``features``: one array (n, …, c_f) per feature; ``column_names[f]``: the
    c_f encoded column names of feature ``f`` (``encoded_column_names``). ``permute_count`` ≥ 1.
    """
    if permute_count < 1:
        raise ValueError(f"permute_count must be ≥ 1 to compute importance, got {permute_count}")
    arrays = [np.asarray(x) for x in features]
    if len(column_names) != len(arrays):
        raise ValueError(f"{len(arrays)} features but {len(column_names)} lists of column names")
    baseline = float(loss(arrays))
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for f, (array, names) in enumerate(zip(arrays, column_names, strict=True)):
        if f in skip_features:
            continue
        width = array.shape[-1] if array.ndim > 1 else 1
        if len(names) != width:
            raise ValueError(f"feature {f}: {width} encoded columns but {len(names)} names")
        columns: dict[str, dict[str, Any]] = {}
        for j, name in enumerate(names):
            rng = np.random.default_rng(column_seed(fi_seed, f, j))
            impacts = []
            for _ in range(permute_count):
                permuted = list(arrays)
                permuted[f] = permute_column(array, j, rng) if array.ndim > 1 else rng.permutation(array)
                impacts.append(float(loss(permuted)) - baseline)
            columns[str(name)] = _impact_stats(impacts)
        out[str(f)] = columns
    return Importance(out, baseline, permute_count, int(fi_seed), fi_split)


def _json_safe(value: Any) -> Any:
    """Non-finite floats (a NaN loss kept under ``nan_loss: warn``) as None, so the file is strict JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_importance(path: str | Path, importance: Importance) -> Path:
    """Write ``importance.json`` atomically (NaN/inf written as null)."""
    return write_text(path, json.dumps(_json_safe(importance.as_json()), indent=1, allow_nan=False) + "\n")


def read_importance(path: str | Path) -> Importance:
    """Inverse of :func:`write_importance`."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return Importance(
        doc["feature_importance"], doc["baseline_loss"], doc["permute_count"], doc["fi_seed"], doc["fi_split"]
    )
