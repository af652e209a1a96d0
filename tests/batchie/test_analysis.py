import numpy as np
import pytest
from scipy.stats import spearmanr

from snakelab.batchie.analysis import spearman


@pytest.mark.parametrize("seed", range(5))
def test_spearman_equals_scipy_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 6, 40).astype(float)
    y = x + rng.normal(0, 2, 40).round(0)
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)


def test_spearman_of_constant_is_nan() -> None:
    assert np.isnan(spearman(np.ones(5), np.arange(5.0)))
    assert spearman(np.arange(5.0), np.arange(5.0) ** 3) == pytest.approx(1.0)
