"""Prediction storage units (spec §11): float32 as is, or uint8 = round(255·(p − lo)/(hi − lo)).

``value_range`` (lo, hi) is the task's prediction range, written as the ``value_range`` attribute of
``prediction.zarr/prediction``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def encode_uint8(prediction: np.ndarray, value_range: Sequence[float]) -> np.ndarray:
    """Float predictions → uint8 round(255·(p − lo)/(hi − lo)), clipped to [0, 255]."""
    low, high = (float(v) for v in value_range)
    scaled = np.rint(255.0 * (np.asarray(prediction, dtype=np.float64) - low) / (high - low))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def decode(stored: np.ndarray, value_range: Sequence[float]) -> np.ndarray:
    """Stored predictions in prediction units (float64): uint8 → lo + q·(hi − lo)/255; floats as they are."""
    stored = np.asarray(stored)
    if stored.dtype == np.uint8:
        low, high = (float(v) for v in value_range)
        return low + stored.astype(np.float64) * ((high - low) / 255.0)
    return stored.astype(np.float64, copy=False)


def stored_threshold(threshold: float, dtype: np.dtype, value_range: Sequence[float]) -> float:
    """``threshold`` (prediction units) in the units of ``dtype`` data: 255·(t − lo)/(hi − lo) for uint8."""
    if np.dtype(dtype) == np.uint8:
        low, high = (float(v) for v in value_range)
        return 255.0 * (float(threshold) - low) / (high - low)
    return float(threshold)
