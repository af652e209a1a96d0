"""The three derivative modes (spec §3; acceptance tests 2 and 6) and the estimator (acceptance test 7)."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from snakelab.imnn import aggregated, derivatives, estimator, fisher, networks, problems  # noqa: E402
from snakelab.imnn.simulators import get  # noqa: E402

THETA = (0.0, 1.0)
DELTA = (0.1, 0.1)


def sufficient(_w, d):
    """x = (Σd, Σd²): attains the Gaussian benchmark's Fisher information diag(10, 5)."""
    return jnp.stack([jnp.sum(d), jnp.sum(d**2)])


def linear(_w, d):
    """x = d: carries the mean information only."""
    return d


def _keys(n: int, stream: int = 0) -> jax.Array:
    root = jax.random.PRNGKey(stream)
    return jax.vmap(lambda j: jax.random.fold_in(root, j))(jnp.arange(n))


@jax.jit
def _sets_jit(keys, theta, delta):
    return _sets(keys, theta, delta)


def _sets(keys: jax.Array, theta, delta) -> dict[str, jax.Array]:
    """Fiducial, gradient (dd/dθ) and numerical (n, 2, n_params, n_data) sets on matched keys."""
    simulate = get("gaussian").bind({"n_data": 10})
    theta = jnp.asarray(theta)
    delta = jnp.asarray(delta)
    fid = jax.vmap(lambda k: simulate(k, theta))(keys)
    grad = jax.vmap(lambda k: jax.jacfwd(lambda t: simulate(k, t))(theta))(keys)
    shifts = jnp.stack([-0.5 * jnp.diag(delta), 0.5 * jnp.diag(delta)])  # (2, n_params, n_params)
    num = jax.vmap(lambda k: jax.vmap(jax.vmap(lambda s: simulate(k, theta + s)))(shifts))(keys)
    return {"fiducial": fid, "gradient": grad, "numerical": num}


def _all_modes(apply, w, keys, sets):
    theta = jnp.asarray(THETA, sets["fiducial"].dtype)
    simulate = get("gaussian").bind({"n_data": 10})
    n = keys.shape[0]

    @jax.jit
    def run(w, keys, sets):
        return {
            "simulator": derivatives.simulator_summaries(apply, w, simulate, keys, theta, n),
            "gradient": derivatives.gradient_summaries(apply, w, sets["fiducial"], sets["gradient"]),
            "numerical": derivatives.numerical_summaries(
                apply, w, sets["fiducial"], sets["numerical"], jnp.asarray(DELTA, theta.dtype)
            ),
        }

    return run(w, keys, sets)


@pytest.mark.slow
def test_analytic_fisher_in_three_modes(x64: None) -> None:
    keys = _keys(100_000)
    sets = _sets_jit(keys, jnp.asarray(THETA, jnp.float64), jnp.asarray(DELTA))
    for mode, (x, dx) in _all_modes(sufficient, None, keys, sets).items():
        F = np.asarray(fisher.fisher_statistics(x, dx).F)
        np.testing.assert_allclose(np.diag(F), [10.0, 5.0], rtol=0.02, err_msg=mode)
        assert np.linalg.det(F) == pytest.approx(50.0, rel=0.03), mode
    x, dx = derivatives.gradient_summaries(linear, None, sets["fiducial"], sets["gradient"])
    assert float(fisher.fisher_statistics(x, dx).F[0, 0]) == pytest.approx(10.0, rel=0.02)


def test_modes_agree_on_identical_keys() -> None:
    init, apply = networks.mlp(2, hidden=(16,), activation="tanh")
    w = init(jax.random.PRNGKey(3), (10,))
    keys = _keys(32, stream=4)
    sets = _sets_jit(keys, jnp.asarray(THETA, jnp.float32), jnp.asarray(DELTA))
    out = _all_modes(apply, w, keys, sets)
    np.testing.assert_allclose(out["simulator"][0], out["gradient"][0], atol=1e-5)
    np.testing.assert_allclose(out["simulator"][1], out["gradient"][1], atol=1e-5, rtol=1e-5)


def test_numerical_mode_converges_to_the_gradient_in_float64(x64: None) -> None:
    init, apply = networks.mlp(2, hidden=(16,), activation="tanh", dtype=jnp.float64)
    w = init(jax.random.PRNGKey(3), (10,))
    keys = _keys(16, stream=5)
    sets = _sets_jit(keys, jnp.asarray(THETA, jnp.float64), jnp.asarray((1e-3, 1e-3)))
    _, dx_g = derivatives.gradient_summaries(apply, w, sets["fiducial"], sets["gradient"])
    _, dx_n = derivatives.numerical_summaries(
        apply, w, sets["fiducial"], sets["numerical"], jnp.asarray([1e-3, 1e-3])
    )
    np.testing.assert_allclose(dx_n, dx_g, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("mode", ["simulator", "gradient", "numerical"])
def test_aggregated_gradient_equals_memory(x64: None, mode: str) -> None:
    n_s, n_d, per_device = 64, 32, 8
    init, apply = networks.mlp(2, hidden=(8,), activation="softplus", dtype=jnp.float64)
    w = init(jax.random.PRNGKey(7), (10,))
    a = fisher.alpha(10.0, 0.1)
    theta = jnp.asarray(THETA, jnp.float64)
    simulate = get("gaussian").bind({"n_data": 10})
    fit_key = jax.random.PRNGKey(11)
    i = 3
    if mode == "simulator":
        data = None
        source = aggregated.key_source(lambda it: jax.random.fold_in(fit_key, it), n_s, n_d, per_device)
    else:
        sets = _sets_jit(problems.iteration_keys(fit_key, i, n_s), theta, jnp.asarray(DELTA))
        data = {"fiducial": sets["fiducial"], "derivative": sets[mode][:n_d]}
        source = aggregated.array_source(
            np.asarray(data["fiducial"]), np.asarray(data["derivative"]), per_device
        )
    train = problems.memory_train(
        apply,
        mode,
        10.0,
        a,
        simulate=simulate,
        fit_key=fit_key,
        theta_fid=theta,
        n_s=n_s,
        n_d=n_d,
        delta_theta=jnp.asarray(DELTA),
    )
    loss_m, grad_m, aux_m = jax.jit(train)(w, jnp.asarray(i), data)
    f_d, f_f = aggregated.batch_functions(
        apply, mode, simulate=simulate, theta_fid=theta, delta_theta=jnp.asarray(DELTA)
    )
    agg = aggregated.Aggregator(f_d, f_f, 10.0, a)
    loss_a, grad_a, aux_a = agg.loss_and_grad(w, source, i)
    np.testing.assert_allclose(loss_a, loss_m, rtol=1e-10)
    np.testing.assert_allclose(aux_a.F, aux_m.F, rtol=1e-10)
    for g_a, g_m in zip(jax.tree_util.tree_leaves(grad_a), jax.tree_util.tree_leaves(grad_m), strict=True):
        np.testing.assert_allclose(g_a, g_m, rtol=1e-10, atol=1e-13)


def test_divisibility_is_checked() -> None:
    with pytest.raises(ValueError, match=r"n_d = 20 is not divisible by n_devices \* n_per_device = 2 \* 8"):
        aggregated.check_divisible(64, 20, 2, 8)


@pytest.mark.slow
def test_estimator_is_unbiased_at_the_fiducial(x64: None) -> None:
    keys = _keys(100_000, stream=9)
    sets = _sets_jit(keys, jnp.asarray(THETA, jnp.float64), jnp.asarray(DELTA))
    x, dx = derivatives.gradient_summaries(sufficient, None, sets["fiducial"], sets["gradient"])
    s = fisher.fisher_statistics(x, dx)
    invF = np.linalg.inv(np.asarray(s.F))
    stats = {
        "mu": s.mu,
        "C": s.C,
        "invC": s.invC,
        "dmu_dtheta": s.J,
        "F": s.F,
        "invF": invF,
        "theta_fid": THETA,
    }
    stats = {k: np.asarray(v) for k, v in stats.items()}
    estimate = estimator.make_estimator(sufficient, None, stats, (10,))
    test = jax.vmap(lambda k: get("gaussian").bind({})(k, jnp.asarray(THETA)))(_keys(100_000, stream=10))
    theta_hat = np.asarray(estimate(test))
    stderr = np.sqrt(np.diag(invF) / theta_hat.shape[0])
    assert np.all(np.abs(theta_hat.mean(axis=0) - THETA) < 4 * stderr)
    np.testing.assert_allclose(np.diag(np.cov(theta_hat, rowvar=False)), np.diag(invF), rtol=0.03)
    np.testing.assert_allclose(estimate(test[5]), theta_hat[5], rtol=1e-12)


def test_estimator_without_statistics_is_a_one_line_error() -> None:
    from snakelab.core.errors import InputError

    with pytest.raises(InputError, match="statistics"):
        estimator.make_estimator(sufficient, None, None, (10,))
