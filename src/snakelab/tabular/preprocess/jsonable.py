"""Plain JSON values from numpy/pandas/sklearn values (NaN and inf become ``None``, for JSONB)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def to_json(value: Any) -> Any:
    """``value`` as JSON-ready Python: arrays → lists, numpy scalars → Python, non-finite → ``None``.

    Anything else that is not a str/int/float/bool/None/list/dict becomes its ``str``.
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        return [to_json(v) for v in value.tolist()] if value.dtype != object else [to_json(v) for v in value]
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    return str(value)


def rows_sha256(rows: Any) -> str:
    """sha256 (hex) of the sorted row indices as little-endian int64 bytes (the fit report's key)."""
    ordered = np.sort(np.asarray(rows, dtype=np.int64))
    return hashlib.sha256(ordered.astype("<i8").tobytes()).hexdigest()
