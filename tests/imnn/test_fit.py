"""Fit loop: early-stopping semantics, best/final weights, history, resume (spec §4; acceptance test 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402

from snakelab.imnn import fisher, networks, problems  # noqa: E402
from snakelab.imnn.fit import fit  # noqa: E402
from snakelab.imnn.simulators import get  # noqa: E402


def _scripted_train(w, i, data):
    """Loss 0, zero gradient, |F| = data[i]: drives the loop's own early-stopping step."""
    m = data[jnp.minimum(i, data.shape[0] - 1)]
    eye = jnp.eye(2, dtype=m.dtype)
    aux = fisher.LossAux(eye * m, eye, eye, jnp.zeros(()), jnp.zeros(()), m)
    return jnp.zeros(()), jax.tree_util.tree_map(jnp.zeros_like, w), aux


@pytest.mark.parametrize(
    ("m", "min_iterations", "patience", "max_iterations", "iterations", "best_iteration", "reason"),
    [
        ([1, 2, 3, 3, 3, 3, 3, 3, 3, 3], 2, 3, 100, 6, 2, "patience"),
        ([5, 1, 1, 1, 1, 1, 1, 1, 1, 1], 4, 2, 100, 7, 0, "patience"),
        (list(range(1, 11)), 100, 100, 10, 10, 9, "max_iterations"),
    ],
)
def test_early_stopping_semantics(
    m, min_iterations, patience, max_iterations, iterations, best_iteration, reason
):
    w0 = {"a": jnp.zeros(3)}
    result = fit(
        w0,
        optax.sgd(0.1),
        _scripted_train,
        jnp.asarray(m, jnp.float32),
        patience=patience,
        min_iterations=min_iterations,
        max_iterations=max_iterations,
        chunk=4,
    )
    assert result.iterations == iterations
    assert result.best_iteration == best_iteration
    assert result.stop_reason == reason
    assert len(result.history["detF"]) == iterations
    np.testing.assert_array_equal(result.history["detF"], np.asarray(m[:iterations], np.float32))


def test_non_finite_stops_the_fit():
    m = jnp.asarray([1.0, 2.0, jnp.nan, 4.0])
    result = fit({"a": jnp.zeros(1)}, optax.sgd(0.1), _scripted_train, m, min_iterations=0, max_iterations=4)
    assert (result.iterations, result.best_iteration, result.stop_reason) == (3, 1, "non-finite")


def _gradient_problem(n_s: int = 64, seed: int = 0):
    sim = get("gaussian")
    simulate = sim.bind({"n_data": 10})
    theta = jnp.asarray([0.0, 1.0])

    def sets(stream):
        keys = jax.vmap(lambda j: jax.random.fold_in(jax.random.PRNGKey(stream), j))(jnp.arange(n_s))
        d = jax.vmap(lambda k: simulate(k, theta))(keys)
        dd = jax.vmap(lambda k: jax.jacfwd(lambda t: simulate(k, t))(theta))(keys)
        return {"fiducial": d, "derivative": dd}

    init, apply = networks.mlp(2, hidden=(16, 16), activation="softplus")
    w0 = init(jax.random.PRNGKey(seed), (10,))
    a = fisher.alpha(10.0, 0.1)
    train = problems.memory_train(apply, "gradient", 10.0, a)
    validate = problems.memory_validate(apply, "gradient", 10.0, a)
    return w0, apply, train, validate, sets(1), sets(2), a


@pytest.mark.slow
def test_best_and_final_weights_and_resume(tmp_path: Path):
    w0, apply, train, validate, data, val, _ = _gradient_problem()
    kwargs = dict(validate=validate, val_data=val, patience=6, min_iterations=4, max_iterations=40, chunk=10)
    best = fit(
        w0, optax.adam(1e-2), train, data, best=True, checkpoint_dir=tmp_path, checkpoint_every=10, **kwargs
    )
    assert best.iterations == len(best.history["detF"]) == len(best.history["val_detF"])
    assert best.history["val_detF"][best.best_iteration] == pytest.approx(best.max_detF)
    assert best.max_detF == pytest.approx(float(np.max(best.history["val_detF"])))
    # the returned weights are those at which the best validation |F| was computed
    x, dx = problems.fixed_summaries(apply, "gradient")(best.w, val)
    val_detF = float(jnp.linalg.det(fisher.fisher_statistics(x, dx).F))
    assert val_detF == pytest.approx(best.max_detF, rel=1e-4)
    x, dx = problems.fixed_summaries(apply, "gradient")(best.final_w, val)
    assert float(jnp.linalg.det(fisher.fisher_statistics(x, dx).F)) == pytest.approx(
        float(best.history["val_detF"][-1]), rel=1e-4
    )
    final = fit(w0, optax.adam(1e-2), train, data, best=False, **kwargs)
    assert jax.tree_util.tree_all(jax.tree_util.tree_map(jnp.array_equal, final.w, best.final_w))
    # resume from the checkpoint after 10 iterations: same history and weights as the uninterrupted fit
    assert best.iterations > 10
    for path in sorted(tmp_path.glob("checkpoint_*.npz")):
        if int(path.stem.split("_")[1]) > 10:
            path.unlink()
    resumed = fit(
        w0, optax.adam(1e-2), train, data, best=True, checkpoint_dir=tmp_path, resume=True, **kwargs
    )
    assert resumed.iterations == best.iterations and resumed.best_iteration == best.best_iteration
    for name, values in best.history.items():
        np.testing.assert_array_equal(resumed.history[name], values)
    assert jax.tree_util.tree_all(jax.tree_util.tree_map(jnp.array_equal, resumed.w, best.w))


def test_host_loop_stops_where_the_device_loop_stops():
    w0, _, train, validate, data, val, _ = _gradient_problem()
    kwargs = dict(validate=validate, val_data=val, patience=6, min_iterations=4, max_iterations=40, chunk=10)
    device = fit(w0, optax.adam(1e-2), train, data, best=True, loop="device", **kwargs)
    host = fit(w0, optax.adam(1e-2), train, data, best=True, loop="host", **kwargs)
    assert (host.iterations, host.best_iteration, host.stop_reason) == (
        device.iterations,
        device.best_iteration,
        device.stop_reason,
    )
    for name, values in device.history.items():
        np.testing.assert_allclose(host.history[name], values, rtol=1e-5)
    with pytest.raises(ValueError, match="fit loop: expected device or host"):
        fit(w0, optax.adam(1e-2), train, data, loop="gpu", **kwargs)
