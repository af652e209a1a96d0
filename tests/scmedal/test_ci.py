"""Fold confidence intervals (spec §6; acceptance §14 item 8)."""

import numpy as np
import pandas as pd
import pytest

from snakelab.scmedal.ci import STATISTICS, t_interval


def test_hand_values_of_the_spec():
    r = t_interval(np.array([0.1, 0.2, 0.3, 0.4, 0.5]))
    assert r.mean == pytest.approx(0.3, abs=1e-12)
    assert r.std == pytest.approx(0.1581139, abs=5e-8)
    assert r.sem == pytest.approx(0.0707107, abs=5e-8)
    assert (r.ci_upper - r.mean) / r.sem == pytest.approx(2.7764451, abs=5e-8)
    assert r.ci_lower == pytest.approx(0.1036757, abs=5e-8)
    assert r.ci_upper == pytest.approx(0.4963243, abs=5e-8)
    assert int(r.n) == 5


def test_dataframe_folds_by_metrics():
    folds = pd.DataFrame({"acc": [0.1, 0.2, 0.3, 0.4, 0.5], "bal": [1.0, 1.0, 1.0, 1.0, 1.0]})
    out = t_interval(folds)
    assert list(out.index) == list(STATISTICS)
    assert list(out.columns) == ["acc", "bal"]
    assert out.loc["CI_lower", "acc"] == pytest.approx(0.1036757, abs=5e-8)
    assert out.loc["std", "bal"] == 0.0
    assert out.loc["CI_upper", "bal"] == 1.0
    rows = t_interval(folds.T, axis=1)
    assert np.allclose(rows.to_numpy(), out.T.to_numpy())


def test_multiindex_columns_and_series():
    cols = pd.MultiIndex.from_tuples([("batch", "silhouette"), ("celltype", "ch")])
    folds = pd.DataFrame([[1.0, 2.0], [3.0, 6.0]], columns=cols)
    out = t_interval(folds)
    assert out.columns.equals(cols)
    # k = 2: t(0.975, 1) = 12.7062047, std of [1, 3] = sqrt(2), sem = 1
    assert out.loc["CI_upper", ("batch", "silhouette")] == pytest.approx(2.0 + 12.7062047, abs=1e-6)
    s = t_interval(pd.Series([1.0, 3.0], name="x"))
    assert s.name == "x" and s["sem"] == pytest.approx(1.0)


def test_nan_folds_are_skipped():
    x = np.array([[0.1, np.nan], [0.2, 2.0], [np.nan, np.nan], [0.3, 4.0]])
    r = t_interval(x, axis=0)
    assert np.allclose(r.mean, [0.2, 3.0])
    assert np.allclose(r.std, [0.1, np.sqrt(2.0)])
    assert list(r.n) == [3, 2]
    one = t_interval(np.array([5.0, np.nan]))
    assert one.mean == 5.0 and np.isnan(one.std) and np.isnan(one.ci_lower)
    none = t_interval(np.array([np.nan]))
    assert np.isnan(none.mean)


def test_axis_and_confidence():
    x = np.arange(12.0).reshape(3, 4)
    r = t_interval(x, axis=1, confidence=0.9)
    assert r.mean.shape == (3,)
    # t(0.95, 3) = 2.3533634
    assert np.allclose((r.ci_upper - r.mean) / r.sem, 2.3533634, atol=1e-7)
    with pytest.raises(ValueError):
        t_interval(x, confidence=1.5)
