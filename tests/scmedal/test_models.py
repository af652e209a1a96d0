"""Spec §14.3–6: parameter counts, tied decoder, Adam (and the duplicate-update defect), RE block,
early stopping."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from snakelab.scmedal.config import DEFAULTS  # noqa: E402
from snakelab.scmedal.models.adam import Adam  # noqa: E402
from snakelab.scmedal.models.build import build_model  # noqa: E402
from snakelab.scmedal.models.re_block import REBlock  # noqa: E402
from snakelab.scmedal.models.training import EarlyStopping, Trainer, fit  # noqa: E402

ARCH = DEFAULTS["architecture"]


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("ae", 1_574_006),
        ("aec", 1_574_171),
        ("scmedalfe", 2_000_089),
        ("scmedalfec", 2_000_254),
        ("scmedalre", 3_475_295),
    ],
)
def test_parameter_counts_at_the_reference_size(name: str, count: int) -> None:
    assert build_model(name, 2916, 19, 21, ARCH).parameter_count() == count


def test_ae_has_13_trainable_variables_and_a_tied_decoder() -> None:
    model = build_model("ae", 30, 3, 4, ARCH)
    assert len(model.main_variables()) == 13
    decoder = model.parts["decoder"]
    assert [tuple(w.shape) for w in decoder.trainable_weights] == [(132,), (512,), (30,)]
    kernels = model.parts["encoder"].kernels()
    assert kernels[0] is model.parts["encoder"].dense[0].kernel
    x = tf.random.stateless_uniform((4, 30), seed=[1, 2])
    before = model.forward(x, tf.zeros((4, 3)))["recon"].numpy()
    kernels[0].assign(kernels[0] * 2.0)
    after = model.forward(x, tf.zeros((4, 3)))["recon"].numpy()
    assert not np.allclose(before, after)
    assert len(model.tied_variables()) == 6


def test_adam_one_step_and_the_duplicate_update_defect() -> None:
    import keras

    for duplicate, expected in ((False, 0.9000003), (True, 0.7656167)):
        v = tf.Variable(1.0)
        opt = Adam([v], lr=0.1, duplicates=[v] if duplicate else [])
        opt.apply([tf.constant(1.0)])
        assert float(v.numpy()) == pytest.approx(expected, abs=2e-7)
    # Keras 3's Adam agrees to float32 rounding of its different operation order (0.90000099)
    w = keras.Variable(1.0)
    keras.optimizers.Adam(learning_rate=0.1).apply([tf.constant(1.0)], [w])
    assert float(w.numpy()) == pytest.approx(0.9000003, abs=1e-6)


def _block(kl_exact: bool = False) -> REBlock:
    block = REBlock(3, 16, kl_exact=kl_exact)
    block(tf.zeros((2, 16)), tf.zeros((2, 3)))
    return block


def test_re_block_modes_initial_scale_and_zero_batch() -> None:
    tf.random.set_seed(0)
    block = _block()
    h = tf.random.stateless_normal((5, 16), seed=[3, 4])
    z = tf.one_hot([0, 1, 2, 1, 0], 3)
    a, _ = block(h, z, training=False)
    b, _ = block(h, z, training=False)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    c, kl = block(h, z, training=True, seed=tf.constant([1, 2]))
    assert not np.allclose(a.numpy(), c.numpy())
    assert float(tf.add_n(kl)) != 0.0
    for scale in block.scales():
        s = scale.numpy()
        assert s.min() >= 0.01 - 1e-7 and s.max() <= 0.015 + 1e-7
    zero, _ = block(h, tf.zeros((5, 3)), training=False)
    np.testing.assert_array_equal(zero.numpy(), block.norm(h, training=False).numpy())


def test_re_block_monte_carlo_kl_matches_the_closed_form() -> None:
    block = _block()
    exact = _block(kl_exact=True)
    for src, dst in zip(block.weights, exact.weights, strict=True):
        dst.assign(src)
    h, z = tf.zeros((1, 16)), tf.zeros((1, 3))
    closed = float(tf.add_n(exact(h, z, training=True, seed=tf.constant([0, 0]))[1]))

    @tf.function
    def mean_of_draws(n):
        total = tf.constant(0.0)
        for i in tf.range(n):
            total += tf.add_n(block(h, z, training=True, seed=tf.stack([7, i]))[1])
        return total / tf.cast(n, tf.float32)

    assert float(mean_of_draws(tf.constant(10_000))) == pytest.approx(closed, rel=0.01)


def test_early_stopping_on_a_scripted_curve() -> None:
    curve = [1.0 - 0.05 * e for e in range(1, 11)] + [0.6 + 0.001 * e for e in range(1, 200)]
    stopper = EarlyStopping(patience=30)
    stopped = None
    for epoch, value in enumerate(curve, start=1):
        stopper.update(epoch, value)
        if stopper.should_stop:
            stopped = epoch
            break
    assert (stopper.best_epoch, stopped) == (10, 40)


def _fit_scripted(early: bool) -> tuple[object, dict, list[np.ndarray]]:
    tf.keras.utils.set_random_seed(0)
    model = build_model("ae", 8, 2, 2, {**ARCH, "layer_units": [6, 4], "latent_dim": 3})
    trainer = Trainer(model, {"recon": 1.0}, {"lr": 1e-2}, 1e-2)
    curve = iter([1.0 - 0.05 * e for e in range(1, 11)] + [0.6 + 0.001 * e for e in range(1, 200)])
    snapshots = {}

    def scripted(*_args, **_kwargs):
        value = next(curve)
        snapshots[len(snapshots) + 1] = model.get_state()
        return {"total_loss": value, "recon_loss": value}

    trainer.evaluate = scripted
    rng = np.random.default_rng(0)
    x = rng.random((16, 8)).astype(np.float32)
    z = np.eye(2, dtype=np.float32)[rng.integers(0, 2, 16)]
    training = {**DEFAULTS["training"], "epochs": 45, "batch_size": 16}
    result = fit(
        trainer, (x, z, z, z), 16, (x, z, z, z), np.random.default_rng(1), 5, training, early_stopping=early
    )
    return result, snapshots, model.get_state()


def test_fit_restores_the_best_epoch_and_faithful_runs_all_epochs() -> None:
    result, snapshots, state = _fit_scripted(early=True)
    assert (result.best_epoch, result.epochs_run) == (10, 40)
    for restored, best in zip(state, snapshots[10], strict=True):
        np.testing.assert_array_equal(restored, best)
    result, snapshots, state = _fit_scripted(early=False)
    assert (result.best_epoch, result.epochs_run) == (45, 45)
    for last, snap in zip(state, snapshots[45], strict=True):
        np.testing.assert_array_equal(last, snap)


def test_output_norm_init_sets_the_output_scale_to_the_data() -> None:
    from snakelab.scmedal.models.build import init_output_norm

    arch = {**ARCH, "layer_units": [8, 4], "latent_dim": 3}
    model = build_model("scmedalre", 6, 2, 3, arch)
    mean = np.linspace(0.1, 0.6, 6)
    sd = np.linspace(0.01, 0.06, 6)
    init_output_norm(model, mean, sd)
    norm = model.parts["dec_re_out"].norm
    np.testing.assert_allclose(norm.gamma.numpy(), sd, rtol=1e-6)
    np.testing.assert_allclose(norm.beta.numpy(), mean, rtol=1e-6)
    # at inference with zero z the output block is the BatchNorm: γ·h/√(1 + ε) + β on fresh moving statistics
    h = tf.random.stateless_normal((4, 6), seed=[5, 6])
    out, _ = model.parts["dec_re_out"](h, tf.zeros((4, 2)), training=False)
    np.testing.assert_allclose(out.numpy(), h.numpy() * sd / np.sqrt(1 + 1e-3) + mean, rtol=1e-5)
    with pytest.raises(ValueError, match="expected the scmedalre model, found ae"):
        init_output_norm(build_model("ae", 6, 2, 3, arch), mean, sd)


def test_fold_moments_equal_numpy_on_dense_and_csr_splits() -> None:
    import scipy.sparse as sp

    from snakelab.scmedal.data import FoldData

    x = np.random.default_rng(0).poisson(1.0, (50, 7)).astype(np.float32)
    for raw in (x, sp.csr_matrix(x)):
        fold = FoldData(
            fold=1,
            index={"train": np.arange(50)},
            raw={"train": raw},
            scalers={"train": {"min": 0.0, "max": float(x.max())}},
            batch={"train": np.zeros(50, dtype=int)},
            celltype={"train": np.zeros(50, dtype=int)},
            batches=["b0"],
            celltypes=["t0"],
            genes=[f"g{k}" for k in range(7)],
            obs_names={"train": np.arange(50).astype(str)},
        )
        mean, sd = fold.moments("train", chunk=8)
        scaled = x / x.max()
        np.testing.assert_allclose(mean, scaled.mean(axis=0), rtol=1e-6)
        np.testing.assert_allclose(sd, scaled.std(axis=0), rtol=1e-5)
