"""Built-in summary networks: the batched form equals the one-input form, and standardise_output folds
the initial summaries' mean and covariance into the last layer without changing the Fisher information."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from snakelab.imnn import derivatives, fisher, networks
from snakelab.imnn.simulators import field2d

CASES = [
    ("mlp", {"hidden": [16, 16], "activation": "softplus"}, (10,)),
    ("cnn", {"channels": [4, 8], "hidden": [8], "pool": "all"}, (8, 8)),
    ("cnn", {"channels": [4, 8], "hidden": [8], "pool": "last"}, (8, 8, 2)),
    ("cnn", {"channels": [4, 8], "hidden": [8], "pool": "every", "padding": "circular"}, (8, 8)),
]


@pytest.mark.parametrize(("kind", "options", "shape"), CASES)
def test_batched_equals_one_input(x64: None, kind: str, options: dict, shape: tuple[int, ...]) -> None:
    init, apply = networks.build({"kind": kind, **options}, 3, jnp.float64)
    w = init(jax.random.PRNGKey(0), shape)
    d = jax.random.normal(jax.random.PRNGKey(1), (5, *shape), jnp.float64)
    single = jax.jit(apply)
    one = np.stack([np.asarray(single(w, di)) for di in d])
    np.testing.assert_allclose(np.asarray(networks.batched(apply)(w, d)), one, rtol=1e-12, atol=1e-12)


def test_user_network_without_batched_form_is_vmapped() -> None:
    def apply(w, d):
        return jnp.stack([jnp.sum(d) * w, jnp.sum(d**2)])

    d = jnp.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(networks.batched(apply)(2.0, d), [[2.0, 1.0], [10.0, 13.0], [18.0, 41.0]])


@pytest.mark.parametrize(
    "network",
    [
        {"kind": "mlp", "hidden": [16], "activation": "softplus"},
        {"kind": "cnn", "channels": [4, 8], "hidden": [8]},
    ],
)
def test_standardise_output_whitens_and_keeps_fisher(x64: None, network: dict) -> None:
    n_pixels = 8
    simulate = field2d.ENTRY.bind({"N": n_pixels})
    theta = jnp.array([1.0, 0.5], jnp.float64)
    init, apply = networks.build(network, 2, jnp.float64)
    w = init(jax.random.PRNGKey(2), (n_pixels, n_pixels))
    keys = jax.random.split(jax.random.PRNGKey(3), 200)
    x, dx = derivatives.simulator_summaries(apply, w, simulate, keys, theta, 200)
    w_std = networks.standardise_output(w, x)
    x_std, dx_std = derivatives.simulator_summaries(apply, w_std, simulate, keys, theta, 200)
    np.testing.assert_allclose(np.mean(x_std, axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(np.cov(np.asarray(x_std).T), np.eye(2), atol=1e-10)
    F = np.asarray(fisher.fisher_statistics(x, dx).F)
    F_std = np.asarray(fisher.fisher_statistics(x_std, dx_std).F)
    np.testing.assert_allclose(F_std, F, rtol=1e-8)
    assert np.linalg.det(F) > 0


def test_standardise_output_rejects_foreign_params_and_singular_summaries() -> None:
    with pytest.raises(ValueError, match="built-in mlp or cnn"):
        networks.standardise_output({"w": jnp.ones(2)}, jnp.ones((4, 2)))
    init, _ = networks.mlp(2, hidden=[4])
    w = init(jax.random.PRNGKey(0), (3,))
    with pytest.raises(ValueError, match="singular"):
        networks.standardise_output(w, jnp.ones((10, 2)))


def test_cnn_options_are_checked() -> None:
    with pytest.raises(ValueError, match=r"network\.pool: expected all, last or every"):
        networks.cnn(2, pool="max")
    with pytest.raises(ValueError, match=r"network\.padding: expected same or circular"):
        networks.cnn(2, padding="reflect")


@pytest.mark.parametrize(("pool", "n_features"), [("last", 8), ("all", 12), ("every", 24)])
def test_cnn_pooled_features(pool: str, n_features: int) -> None:
    init, _ = networks.cnn(2, channels=[4, 8], hidden=[5], pool=pool)
    assert init(jax.random.PRNGKey(0), (8, 8))["head"][0]["w"].shape == (n_features, 5)


def test_circular_padding_makes_the_cnn_invariant_to_periodic_shifts(x64: None) -> None:
    """Two stride-2 blocks: a roll by 4 pixels (a multiple of 2²) of a periodic input moves every feature
    map by whole pixels, so globally pooled summaries are unchanged with circular padding; zero padding
    sees the input's edges and changes them."""
    d = jax.random.normal(jax.random.PRNGKey(1), (3, 8, 8), jnp.float64)
    rolled = jnp.roll(d, (4, -4), axis=(1, 2))
    out = {}
    for padding in ("circular", "same"):
        init, apply = networks.cnn(
            2, channels=[4, 8], hidden=[8], pool="every", padding=padding, dtype=jnp.float64
        )
        w = init(jax.random.PRNGKey(0), (8, 8))
        out[padding] = np.abs(np.asarray(apply.batched(w, d) - apply.batched(w, rolled))).max()
    assert out["circular"] < 1e-12
    assert out["same"] > 1e-3
