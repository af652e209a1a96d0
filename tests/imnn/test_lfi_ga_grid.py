"""LFI building blocks (spec §10, §11, §14.9): prior box and draws, grids and marginals, credible
levels, the Gaussian approximation, the corner plot."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from snakelab.core.errors import InputError
from snakelab.imnn.lfi import corner, ga, grid, prior


def test_check_box() -> None:
    low, high = prior.check_box([-2, 0.2], [2, 4])
    assert low.dtype == np.float64
    np.testing.assert_array_equal(high, [2.0, 4.0])
    with pytest.raises(
        InputError, match=r"c\.yaml: imnn\.prior\.low\[1\]: expected low < high, found 5\.0 >= 4\.0"
    ):
        prior.check_box([-2, 5], [2, 4], path="c.yaml")
    with pytest.raises(InputError, match="equal length"):
        prior.check_box([0, 0, 0], [1, 1])


def test_uniform_draws_depend_on_index_only() -> None:
    low, high = np.array([-2.0, 0.2]), np.array([2.0, 4.0])
    indices = np.arange(3000)  # crosses two block boundaries
    whole = prior.uniform_draws(5, prior.STREAM_ABC, indices, low, high)
    parts = np.concatenate(
        [prior.uniform_draws(5, prior.STREAM_ABC, chunk, low, high) for chunk in np.array_split(indices, 7)]
    )
    np.testing.assert_array_equal(whole, parts)
    shuffled = np.random.default_rng(0).permutation(indices)
    np.testing.assert_array_equal(
        prior.uniform_draws(5, prior.STREAM_ABC, shuffled, low, high), whole[shuffled]
    )
    assert prior.in_box(whole, low, high).all()
    tolerance = 3 * (high - low) / np.sqrt(12 * 3000)
    assert (np.abs(whole.mean(axis=0) - (low + high) / 2) < tolerance).all()
    other = prior.uniform_draws(5, prior.STREAM_PMC, indices, low, high)
    assert not np.allclose(other, whole)


def test_prior_density() -> None:
    low, high = np.array([-3.0]), np.array([3.0])
    np.testing.assert_allclose(
        prior.prior_density(np.array([[0.0], [3.0], [3.1]]), low, high), [1 / 6, 1 / 6, 0]
    )


def test_grid_ranges_and_pairs() -> None:
    ranges = grid.grid_ranges(np.array([-2.0, 0.2]), np.array([2.0, 4.0]), 5)
    np.testing.assert_allclose(ranges, [[-2, -1, 0, 1, 2], [0.2, 1.15, 2.1, 3.05, 4.0]])
    np.testing.assert_array_equal(grid.parameter_pairs(3), [[0, 1], [0, 2], [1, 2]])
    assert grid.parameter_pairs(1).shape == (0, 2)


def test_histogram_marginals_are_unit_mass_and_match_counts() -> None:
    ranges = grid.grid_ranges(np.array([0.0, 0.0]), np.array([1.0, 2.0]), 3)  # steps 0.5 and 1.0
    samples = np.array([[0.0, 0.0], [0.1, 1.2], [0.6, 1.9], [1.0, 2.0]])
    m1, m2 = grid.histogram_marginals(samples, ranges)
    # bins centred on 0, 0.5, 1 (parameter 0) and 0, 1, 2 (parameter 1)
    np.testing.assert_allclose(m1[0], np.array([2, 1, 1]) / 4 / 0.5)
    np.testing.assert_allclose(m1[1], np.array([1, 1, 2]) / 4 / 1.0)
    assert m2.shape == (1, 3, 3)
    assert m2[0, 0, 0] == pytest.approx(1 / 4 / 0.5)
    assert m2[0, 0, 1] == pytest.approx(1 / 4 / 0.5)
    assert (m2[0].sum() * 0.5) == pytest.approx(1.0)
    weighted, _ = grid.histogram_marginals(samples, ranges, weights=np.array([3.0, 1.0, 0.0, 0.0]))
    np.testing.assert_allclose(weighted[0], [2.0, 0.0, 0.0])
    smooth, smooth2 = grid.histogram_marginals(samples, ranges, smoothing=1.0)
    assert smooth[0].sum() * 0.5 == pytest.approx(1.0)
    assert smooth2[0].sum() * 0.5 == pytest.approx(1.0)
    empty1, empty2 = grid.histogram_marginals(np.empty((0, 2)), ranges)
    assert not empty1.any() and not empty2.any()


def test_credible_levels_of_a_gaussian() -> None:
    x = np.linspace(-6, 6, 241)
    density = np.exp(-0.5 * (x[:, None] ** 2 + x[None, :] ** 2))
    levels = grid.credible_levels(density, (0.68, 0.95))
    # for a 2-D standard normal, the region p ≥ exp(-r²/2) holds mass 1 - exp(-r²/2)
    np.testing.assert_allclose(levels, [1 - 0.68, 1 - 0.95], rtol=0.02)
    mass68 = density[density >= levels[0]].sum() / density.sum()
    assert mass68 == pytest.approx(0.68, abs=0.005)


def _moments(values: np.ndarray, density: np.ndarray) -> tuple[float, float]:
    step = values[1] - values[0]
    mean = float((values * density).sum() * step)
    return mean, float(np.sqrt(((values - mean) ** 2 * density).sum() * step))


def test_ga_marginals_match_closed_form_on_a_wide_box() -> None:
    invF = np.array([[0.1, 0.05], [0.05, 0.2]])
    theta_hat = np.array([[0.3, 1.2], [-0.4, 0.9]])
    sd = np.sqrt(np.diag(invF))
    ranges = grid.grid_ranges(theta_hat.mean(0) - 8 * sd, theta_hat.mean(0) + 8 * sd, 100)
    result = ga.gaussian_approximation(theta_hat, invF, ranges)
    assert result.marginals_1d.shape == (2, 2, 100)
    assert result.marginals_2d.shape == (2, 1, 100, 100)
    step = grid.spacing(ranges)
    for t in range(2):
        for p in range(2):
            mean, std = _moments(ranges[p], result.marginals_1d[t, p])
            assert mean == pytest.approx(theta_hat[t, p], abs=0.01 * sd[p])
            assert std == pytest.approx(sd[p], rel=0.01)
            assert result.marginals_1d[t, p].sum() * step[p] == pytest.approx(1.0)
        m2 = result.marginals_2d[t, 0]
        cell = step[0] * step[1]
        assert m2.sum() * cell == pytest.approx(1.0)
        mx = (ranges[0][:, None] * m2).sum() * cell
        my = (ranges[1][None, :] * m2).sum() * cell
        cov = ((ranges[0][:, None] - mx) * (ranges[1][None, :] - my) * m2).sum() * cell
        assert cov == pytest.approx(invF[0, 1], rel=0.02)
        # the 1-D marginal of the 2-D grid density is the 1-D GA marginal
        np.testing.assert_allclose(m2.sum(axis=1) * step[1], result.marginals_1d[t, 0], atol=1e-3)


def test_ga_truncation_to_the_box_keeps_the_gaussian_shape() -> None:
    invF = np.array([[0.25, 0.0], [0.0, 1.0]])
    ranges = grid.grid_ranges(np.array([0.0, -1.0]), np.array([1.0, 1.0]), 51)
    result = ga.gaussian_approximation(np.array([0.8, 0.0]), invF, ranges)
    expected = stats.truncnorm.pdf(ranges[0], (0.0 - 0.8) / 0.5, (1.0 - 0.8) / 0.5, loc=0.8, scale=0.5)
    ratio = result.marginals_1d[0, 0] / expected
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-10)
    # unit mass on the grid: the ratio is 1 / (grid sum of the closed form), close to 1
    assert ratio[0] == pytest.approx(1.0 / (expected.sum() * 0.02), rel=1e-10)
    assert ratio[0] == pytest.approx(1.0, rel=0.02)


def test_ga_written_fields(tmp_path) -> None:
    ranges = grid.grid_ranges(np.zeros(3), np.ones(3), 10)
    result = ga.gaussian_approximation(np.full((1, 3), 0.5), np.eye(3) * 0.01, ranges)
    ga.write_ga(tmp_path / "lfi" / "ga.npz", result)
    with np.load(tmp_path / "lfi" / "ga.npz") as f:
        assert sorted(f.files) == sorted(
            ["ranges", "marginals_1d", "marginals_2d", "pairs", "theta_hat", "invF"]
        )
        assert f["marginals_2d"].shape == (1, 3, 10, 10)
        np.testing.assert_array_equal(f["pairs"], [[0, 1], [0, 2], [1, 2]])
    with pytest.raises(ValueError, match="positive diagonal"):
        ga.gaussian_approximation(np.zeros((1, 2)), np.array([[0.0, 0.0], [0.0, 1.0]]), ranges[:2])


def test_corner_plot_writes_png(tmp_path) -> None:
    ranges = grid.grid_ranges(np.array([-2.0, 0.2]), np.array([2.0, 4.0]), 40)
    theta_hat = np.array([[0.5, 1.5], [0.0, 1.0]])
    g = ga.gaussian_approximation(theta_hat, np.diag([0.1, 0.4]), ranges)
    samples = np.random.default_rng(1).multivariate_normal([0.5, 1.5], np.diag([0.1, 0.4]), size=500)
    h1, h2 = grid.histogram_marginals(samples, ranges, smoothing=1.0)
    empty = (np.zeros_like(h1), np.zeros_like(h2))
    marginals = {
        "GA": (g.marginals_1d, g.marginals_2d),
        "ABC": (np.stack([h1, empty[0]]), np.stack([h2, empty[1]])),
    }
    paths = corner.plot_posteriors(tmp_path / "plots", ranges, marginals, truths=theta_hat, labels=["m", "v"])
    assert [p.name for p in paths] == ["posterior_t0.png", "posterior_t1.png"]
    import matplotlib.image

    image = matplotlib.image.imread(paths[0])
    assert image.shape[:2] == (520, 520)  # 2.6 inches per parameter at 100 dpi
    again = corner.plot_posterior(
        tmp_path / "again.png",
        ranges,
        {k: (v[0][0], v[1][0]) for k, v in marginals.items()},
        theta_hat[0],
        ["m", "v"],
        "target 0",
    )
    assert again.read_bytes() == paths[0].read_bytes()
    assert not list((tmp_path / "plots").glob(".*"))  # no temporary left behind
