"""Fisher statistics and loss (spec §1, §2; acceptance tests 1 and 3)."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402

from snakelab.imnn import fisher, networks  # noqa: E402


def _numpy_fisher(x: np.ndarray, dx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    C = np.atleast_2d(np.cov(x, rowvar=False, ddof=1))
    J = dx.mean(axis=0)
    F = J.T @ np.linalg.inv(C) @ J
    return 0.5 * (F + F.T), C


def test_fisher_statistics_equal_numpy(x64: None) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)) @ rng.normal(size=(3, 3))
    dx = rng.normal(size=(50, 3, 2))
    stats = fisher.fisher_statistics(jnp.asarray(x), jnp.asarray(dx))
    F, C = _numpy_fisher(x, dx)
    np.testing.assert_allclose(stats.F, F, rtol=1e-10)
    np.testing.assert_allclose(stats.C, C, rtol=1e-10)
    np.testing.assert_allclose(stats.invC, np.linalg.inv(C), rtol=1e-10)
    np.testing.assert_allclose(stats.J, dx.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(stats.mu, x.mean(axis=0), rtol=1e-10)


def test_one_summary_gives_a_1x1_covariance(x64: None) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 1))
    dx = rng.normal(size=(20, 1, 2))
    stats = fisher.fisher_statistics(jnp.asarray(x), jnp.asarray(dx))
    assert stats.C.shape == (1, 1)
    np.testing.assert_allclose(stats.C[0, 0], np.var(x, ddof=1), rtol=1e-10)
    np.testing.assert_allclose(stats.F, _numpy_fisher(x, dx)[0], rtol=1e-10)


def test_hand_values_of_the_loss(x64: None) -> None:
    assert fisher.alpha(10.0, 0.1) == pytest.approx(0.953102, abs=1e-6)
    assert fisher.alpha(10.0, 0.01) == pytest.approx(240.684610, abs=1e-6)
    a = fisher.alpha(10.0, 0.1)
    assert float(fisher.coupling_strength(jnp.asarray(0.1), 10.0, a)) == pytest.approx(0.990991, abs=1e-6)
    assert float(fisher.coupling_strength(jnp.asarray(0.0), 10.0, a)) == 0.0
    C = 2.0 * jnp.eye(2)
    lam2 = fisher.regularisation(C, jnp.linalg.inv(C))
    r = fisher.coupling_strength(lam2, 10.0, a)
    assert float(lam2) == pytest.approx(2.1213203, abs=1e-6)
    assert float(r) == pytest.approx(9.4124753, abs=1e-6)
    assert float(r * lam2) == pytest.approx(19.9668753, abs=1e-6)


def test_loss_gradient_matches_central_differences(x64: None) -> None:
    init, apply = networks.mlp(2, hidden=(8, 8), activation="softplus", linear_skip=True, dtype=jnp.float64)
    w = init(jax.random.PRNGKey(0), (5,))
    rng = np.random.default_rng(2)
    d = jnp.asarray(rng.normal(size=(40, 5)))
    dd = jnp.asarray(rng.normal(size=(20, 5, 2)))
    a = fisher.alpha(10.0, 0.1)

    @jax.jit
    def objective(w):
        from snakelab.imnn import derivatives

        x, dx = derivatives.gradient_summaries(apply, w, d, dd)
        return fisher.loss(x, dx, 10.0, a)[0]

    grad = jax.grad(objective)(w)
    flat_w, unravel = ravel_pytree(w)
    flat_g = ravel_pytree(grad)[0]
    h = 1e-5
    for _ in range(3):
        u = rng.normal(size=flat_w.shape)
        u /= np.linalg.norm(u)
        plus = objective(unravel(flat_w + h * u))
        minus = objective(unravel(flat_w - h * u))
        fd = (plus - minus) / (2 * h)
        np.testing.assert_allclose(float(flat_g @ u), float(fd), rtol=1e-6)
