"""The NaN-loss guard (spec §7 step 5, D5).

AIQC tested ``np.NaN in history`` and so never fired (NaN != NaN). Here every value of every history key
whose name contains ``loss`` is checked with ``isfinite``, and so are the predictions. Policy
``trainer.nan_loss``: ``fail`` (default) raises :class:`NanLossError` naming the epoch (1-based, as Keras
counts them) and the key; ``warn`` logs it and returns a flagged :class:`NanCheck`, which the runner
records as ``nan_loss=true`` in the run's params.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

NAN_POLICIES = ("fail", "warn")


class NanLossError(RuntimeError):
    """A run's loss or predictions are NaN/inf and ``nan_loss`` is ``fail``."""


@dataclass(frozen=True)
class NanCheck:
    """Outcome of a guard: ``nan_loss`` True when a non-finite value was found (and tolerated)."""

    nan_loss: bool = False
    message: str | None = None
    epoch: int | None = None
    key: str | None = None


def _check_policy(policy: str) -> None:
    if policy not in NAN_POLICIES:
        raise ValueError(f"nan_loss must be one of {NAN_POLICIES}, got {policy!r}")


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def first_nonfinite_loss(history: Mapping[str, Sequence[Any]]) -> tuple[int, str] | None:
    """``(epoch, key)`` of the earliest non-finite value over the ``*loss*`` keys (epoch 1-based), or None.

    At equal epochs the first key in the history's order wins.
    """
    found: tuple[int, str] | None = None
    for key, values in history.items():
        if "loss" not in key:
            continue
        for i, value in enumerate(values):
            if not _finite(value):
                if found is None or i + 1 < found[0]:
                    found = (i + 1, key)
                break
    return found


def _outcome(message: str, policy: str, epoch: int | None = None, key: str | None = None) -> NanCheck:
    if policy == "fail":
        raise NanLossError(message)
    log.warning("%s (nan_loss: warn, run kept and flagged)", message)
    return NanCheck(True, message, epoch, key)


def check_history(history: Mapping[str, Sequence[Any]], policy: str = "fail") -> NanCheck:
    """Guard a training history ``{key: [value per epoch]}``; see the module docstring for ``policy``."""
    _check_policy(policy)
    found = first_nonfinite_loss(history)
    if found is None:
        return NanCheck()
    epoch, key = found
    return _outcome(f"NaN/inf loss at epoch {epoch} (key {key})", policy, epoch, key)


def check_predictions(outputs: Mapping[str, Any], policy: str = "fail") -> NanCheck:
    """Guard model outputs ``{split: array or None}`` (predictions or probabilities) for NaN/inf."""
    _check_policy(policy)
    for split, values in outputs.items():
        if values is None:
            continue
        array = np.asarray(values)
        if np.issubdtype(array.dtype, np.number) and not np.isfinite(array).all():
            count = int((~np.isfinite(array)).sum())
            return _outcome(f"NaN/inf predictions on split {split} ({count} values)", policy)
    return NanCheck()
