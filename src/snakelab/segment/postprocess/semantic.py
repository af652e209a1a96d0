"""Threshold (task ``distance``) and argmax (task ``one_hot``) post-processors (spec §4)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from snakelab.segment.postprocess.units import stored_threshold


def threshold(prediction: np.ndarray, value: float, value_range: Sequence[float] = (-1.0, 1.0)) -> np.ndarray:
    """Binary masks (C, z, y, x) uint8: 1 where prediction > ``value``.

    ``value`` is in prediction units; uint8-stored predictions are compared with it converted through
    ``value_range`` (:func:`~snakelab.segment.postprocess.units.stored_threshold`), so one grid serves
    both storage types.
    """
    prediction = np.asarray(prediction)
    return (prediction > stored_threshold(value, prediction.dtype, value_range)).astype(np.uint8)


def argmax(prediction: np.ndarray) -> np.ndarray:
    """Class ids (z, y, x) uint8 of the channel with the largest value in ``prediction`` (C, z, y, x)."""
    prediction = np.asarray(prediction)
    if prediction.shape[0] > 256:
        raise ValueError(f"{prediction.shape[0]} channels do not fit uint8 class ids")
    return np.argmax(prediction, axis=0).astype(np.uint8)
