"""Student-t confidence intervals over cross-validation folds (spec §6: scores and MEC aggregation).

For k folds of one quantity: mean; std with ddof = 1; SEM = std/√k; CI = mean ∓ t(1 − α/2, k − 1)·SEM
(t(0.975, 4) = 2.7764451). NaN entries are ignored (k counts the finite folds of each quantity): a
fold that could not compute a metric does not poison the others. k = 1 gives the mean and NaN for the
spread; k = 0 gives NaN throughout.
"""

from __future__ import annotations

from typing import NamedTuple, overload

import numpy as np
import pandas as pd

#: Row labels of the statistics frame, in order (the reference's ``metrics_allfolds_95CI.csv`` rows).
STATISTICS = ("mean", "std", "sem", "CI_lower", "CI_upper")


class TInterval(NamedTuple):
    """Per-quantity statistics; every field has the input's shape with ``axis`` removed."""

    mean: np.ndarray
    std: np.ndarray
    sem: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    n: np.ndarray


def _interval(values: np.ndarray, axis: int, confidence: float) -> TInterval:
    from scipy import stats

    x = np.asarray(values, dtype=np.float64)
    finite = ~np.isnan(x)
    n = finite.sum(axis=axis)
    total = np.where(finite, x, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        dev = np.where(finite, x - np.expand_dims(mean, axis), 0.0)
        var = np.where(n > 1, (dev**2).sum(axis=axis) / np.maximum(n - 1, 1), np.nan)
        std = np.sqrt(var)
        sem = std / np.sqrt(n)
        t = np.where(n > 1, stats.t.ppf(0.5 + confidence / 2.0, np.maximum(n - 1, 1)), np.nan)
    half = t * sem
    return TInterval(mean, std, sem, mean - half, mean + half, n)


@overload
def t_interval(values: pd.DataFrame, axis: int = 0, confidence: float = 0.95) -> pd.DataFrame: ...
@overload
def t_interval(values: pd.Series, axis: int = 0, confidence: float = 0.95) -> pd.Series: ...
@overload
def t_interval(values: np.ndarray, axis: int = 0, confidence: float = 0.95) -> TInterval: ...


def t_interval(values, axis: int = 0, confidence: float = 0.95):
    """Mean, std (ddof 1), SEM and the two-sided Student-t interval of ``values`` along ``axis``.

    Parameters
    ----------
    values:
        * ``np.ndarray`` (or a list) of any shape, folds along ``axis`` → :class:`TInterval` of arrays
          with that axis removed (0-d arrays for a 1-d input), plus ``n``, the finite folds counted.
        * ``pd.DataFrame`` folds × quantities (``axis=0``) → DataFrame with index :data:`STATISTICS`
          (``mean, std, sem, CI_lower, CI_upper``) and the input's columns (a MultiIndex is kept);
          ``axis=1`` reduces over the columns → DataFrame with the input's index and the statistics
          as columns.
        * ``pd.Series`` of fold values → Series indexed by :data:`STATISTICS`.
    axis:
        The folds axis.
    confidence:
        Two-sided coverage, 0.95 by default (t quantile 1 − (1 − confidence)/2).

    NaN folds are skipped per quantity; a quantity with fewer than two finite folds has NaN spread.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if isinstance(values, pd.DataFrame):
        if axis not in (0, 1):
            raise ValueError(f"axis must be 0 or 1 for a DataFrame, got {axis}")
        r = _interval(values.to_numpy(dtype=np.float64), axis, confidence)
        table = np.vstack([r.mean, r.std, r.sem, r.ci_lower, r.ci_upper])
        if axis == 0:
            return pd.DataFrame(table, index=pd.Index(STATISTICS, name="statistic"), columns=values.columns)
        return pd.DataFrame(table.T, index=values.index, columns=pd.Index(STATISTICS, name="statistic"))
    if isinstance(values, pd.Series):
        r = _interval(values.to_numpy(dtype=np.float64), 0, confidence)
        data = [float(r.mean), float(r.std), float(r.sem), float(r.ci_lower), float(r.ci_upper)]
        return pd.Series(data, index=pd.Index(STATISTICS, name="statistic"), name=values.name)
    return _interval(np.asarray(values), axis, confidence)
