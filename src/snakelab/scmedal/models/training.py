"""The training loop of every model (spec §4 "Training loop", "FE/FEC step", early stopping).

One ``tf.function`` step per minibatch; FE/FEC alternate an adversary update (encoder run in training
mode outside the tape, only A updated) and a generator update (w_rec·MSE [+ w_cls·CCE] − w_gen·CCE(z, A)
on E, D, K). After each epoch the validation split is evaluated at ``training=False`` (exact per-cell
means) and early stopping watches ``val_total_loss`` (or ``val_recon_loss``), restoring the best
epoch's variables (BN statistics and adversary included).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tensorflow as tf

from snakelab.core.progress import progress
from snakelab.scmedal.models.adam import Adam
from snakelab.scmedal.models.build import Model
from snakelab.scmedal.models.losses import cce_per_cell, correct_per_cell, mse_per_cell

log = logging.getLogger("snakelab.scmedal.training")


@dataclass
class EarlyStopping:
    """Keras semantics, mode min: an epoch improves when value < best − min_delta; stop once
    ``patience`` epochs passed without improvement. ``enabled=False`` never stops."""

    patience: int
    min_delta: float = 0.0
    enabled: bool = True
    best_value: float = float("inf")
    best_epoch: int = 0
    wait: int = 0

    def update(self, epoch: int, value: float) -> bool:
        """Record the monitored value of ``epoch`` (1-based); return True if it is the new best."""
        if value < self.best_value - self.min_delta:
            self.best_value, self.best_epoch, self.wait = float(value), epoch, 0
            return True
        self.wait += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.enabled and self.wait >= self.patience


def metric_names(model: Model) -> list[str]:
    """History columns of ``model`` (without the ``val_`` prefix), in order."""
    names = ["total_loss", "recon_loss"]
    if model.classifier_target:
        names += ["cls_loss", "cls_acc"]
    if model.has_adversary:
        names += ["adv_loss", "adv_acc"]
    if model.is_re:
        names += ["kl_loss"]
    return names


def _total(model: Model, w: Mapping[str, float], m: Mapping[str, tf.Tensor]) -> tf.Tensor:
    total = w["recon"] * m["recon_loss"]
    if model.classifier_target:
        total += w["cls"] * m["cls_loss"]
    if model.has_adversary:
        total -= w["gen"] * m["adv_loss"]
    if model.is_re:
        total += m["kl_loss"]
    return total


def _cls_target(model: Model, z: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    return y if model.classifier_target == "celltype" else z


@dataclass
class Trainer:
    """Optimisers and compiled steps of one model."""

    model: Model
    weights: Mapping[str, float]
    optimizer: Mapping[str, float]
    adversary_lr: float
    duplicate_tied_updates: bool = False
    main: Adam = field(init=False)
    adversary: Adam | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        opt = dict(self.optimizer)
        dup = self.model.tied_variables() if self.duplicate_tied_updates and self.model.has_adversary else []
        self.main = Adam(self.model.main_variables(), duplicates=dup, **opt)
        if self.model.has_adversary:
            self.adversary = Adam(self.model.adversary_variables(), **{**opt, "lr": self.adversary_lr})
        self.step = tf.function(self._step, reduce_retracing=True)
        self.evaluate_batch = tf.function(self._evaluate, reduce_retracing=True)
        self.names = metric_names(self.model)
        self.epoch = tf.function(self._epoch, reduce_retracing=True)

    def _epoch(self, x, z, zin, y, order, batch_size, noise_seed, step0):
        """One epoch over in-memory train arrays in the order ``order``: summed step metrics, step count."""
        n = tf.shape(order)[0]
        sums = tf.zeros(len(self.names))
        steps = tf.constant(0)
        for start in tf.range(0, n, batch_size):
            idx = order[start : start + batch_size]
            seed = tf.stack([noise_seed, step0 + steps])
            m = self._step(tf.gather(x, idx), tf.gather(z, idx), tf.gather(zin, idx), tf.gather(y, idx), seed)
            sums += tf.stack([m[k] for k in self.names])
            steps += 1
        return sums, steps

    def _metrics(self, out: Mapping[str, Any], x, z, y) -> dict[str, tf.Tensor]:
        model = self.model
        m = {"recon_loss": tf.reduce_mean(mse_per_cell(x, out["recon"]))}
        if model.classifier_target:
            t = _cls_target(model, z, y)
            m["cls_loss"] = tf.reduce_mean(cce_per_cell(t, out["cls"]))
            m["cls_acc"] = tf.reduce_mean(correct_per_cell(t, out["cls"]))
        if model.has_adversary:
            m["adv_loss"] = tf.reduce_mean(cce_per_cell(z, out["adv"]))
            m["adv_acc"] = tf.reduce_mean(correct_per_cell(z, out["adv"]))
        if model.is_re:
            m["kl_loss"] = out["kl"]
        m["total_loss"] = _total(model, self.weights, m)
        return m

    def _step(self, x, z, zin, y, seed):
        model = self.model
        if model.has_adversary:
            features = tf.stop_gradient(model.adversary_input(x, training=True))
            with tf.GradientTape() as tape:
                adv = cce_per_cell(z, model.parts["adversary"](features))
                adv_loss = tf.reduce_mean(adv)
            self.adversary.apply(tape.gradient(adv_loss, self.adversary.variables))
        with tf.GradientTape() as tape:
            out = model.forward(x, zin, training=True, seed=seed)
            m = self._metrics(out, x, z, y)
        self.main.apply(tape.gradient(m["total_loss"], self.main.variables))
        return m

    def _evaluate(self, x, z, zin, y):
        """Per-cell sums at training=False: (recon, cls, cls_correct, adv, adv_correct)."""
        model = self.model
        out = model.forward(x, zin, training=False)
        zero = tf.constant(0.0)
        sums = {"recon_loss": tf.reduce_sum(mse_per_cell(x, out["recon"]))}
        if model.classifier_target:
            t = _cls_target(model, z, y)
            sums["cls_loss"] = tf.reduce_sum(cce_per_cell(t, out["cls"]))
            sums["cls_acc"] = tf.reduce_sum(correct_per_cell(t, out["cls"]))
        if model.has_adversary:
            sums["adv_loss"] = tf.reduce_sum(cce_per_cell(z, out["adv"]))
            sums["adv_acc"] = tf.reduce_sum(correct_per_cell(z, out["adv"]))
        if model.is_re:
            sums["kl_loss"] = zero
        return sums

    def evaluate(
        self, x: np.ndarray, z: np.ndarray, zin: np.ndarray, y: np.ndarray, chunk: int
    ) -> dict[str, float]:
        """Exact per-cell means over all rows (KL omitted: ``kl_loss`` = 0), and their total."""
        n = x.shape[0]
        acc: dict[str, float] = {}
        for s in range(0, n, chunk):
            sl = slice(s, s + chunk)
            part = self.evaluate_batch(x[sl], z[sl], zin[sl], y[sl])
            for k, v in part.items():
                acc[k] = acc.get(k, 0.0) + float(v)
        means = {k: v / n for k, v in acc.items()}
        means["total_loss"] = float(
            _total(self.model, self.weights, {k: tf.constant(v) for k, v in means.items()})
        )
        return means


@dataclass
class TrainResult:
    """History rows (1-based epoch, train then ``val_`` columns), the best epoch and timings."""

    history: list[dict[str, float]]
    best_epoch: int
    epochs_run: int
    seconds: float
    epoch_seconds: list[float]
    initial_state: list[np.ndarray]
    best_value: float


def fit(
    trainer: Trainer,
    train: tuple[np.ndarray, ...]
    | Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    n_train: int,
    val: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    rng: np.random.Generator,
    noise_seed: int,
    training: Mapping[str, Any],
    early_stopping: bool = True,
) -> TrainResult:
    """Train for up to ``training.epochs`` epochs; restore the best (or keep the last) weights.

    ``train`` is (x, z, z_input, y) of every train row (in memory: one compiled call per epoch) or a
    function ``train(idx)`` returning those of rows ``idx`` (CSR data densified per minibatch);
    ``val`` is the whole validation split.
    ``early_stopping=False`` runs every epoch and keeps the last weights.
    """
    model = trainer.model
    es_cfg = training["early_stopping"]
    monitor = "val_total_loss" if es_cfg["monitor"] == "total" else "val_recon_loss"
    stopper = EarlyStopping(int(es_cfg["patience"]), float(es_cfg["min_delta"]), enabled=early_stopping)
    batch_size = int(training["batch_size"])
    chunk = int(training["inference_batch_size"])
    names = metric_names(model)
    initial = model.get_state()
    best_state = initial
    history: list[dict[str, float]] = []
    epoch_seconds: list[float] = []
    step = 0
    start = time.perf_counter()
    dense = isinstance(train, tuple)
    if dense:
        tensors = [tf.constant(a) for a in train]
    for epoch in progress(range(1, int(training["epochs"]) + 1), desc=f"{model.name} epochs", unit="epoch"):
        t0 = time.perf_counter()
        order = rng.permutation(n_train)
        if dense:
            total, n_steps_t = trainer.epoch(
                *tensors,
                tf.constant(order, tf.int32),
                tf.constant(batch_size),
                tf.constant(noise_seed % 2**31, tf.int32),
                tf.constant(step, tf.int32),
            )
            n_steps = int(n_steps_t)
            sums = dict(zip(names, total.numpy().astype(np.float64).tolist(), strict=True))
            step += n_steps
        else:
            sums = dict.fromkeys(names, 0.0)
            n_steps = 0
            for s in range(0, n_train, batch_size):
                x, z, zin, y = train(order[s : s + batch_size])
                seed = tf.constant([noise_seed % 2**31, step], dtype=tf.int32)
                m = trainer.step(tf.constant(x), tf.constant(z), tf.constant(zin), tf.constant(y), seed)
                for k in names:
                    sums[k] += float(m[k])
                n_steps += 1
                step += 1
        row: dict[str, float] = {"epoch": epoch}
        row.update({k: sums[k] / n_steps for k in names})
        v = trainer.evaluate(*val, chunk=chunk)
        row.update({f"val_{k}": v[k] for k in names})
        history.append(row)
        epoch_seconds.append(time.perf_counter() - t0)
        if not np.isfinite(row[monitor]):
            raise FloatingPointError(f"{model.name}: {monitor} is {row[monitor]} at epoch {epoch}")
        if stopper.update(epoch, row[monitor]) and early_stopping and es_cfg["restore_best"]:
            best_state = model.get_state()
        if epoch % 10 == 0 or epoch == 1:
            log.info(
                "epoch %d: %s %.6g (best %.6g at %d)",
                epoch,
                monitor,
                row[monitor],
                stopper.best_value,
                stopper.best_epoch,
            )
        if stopper.should_stop:
            log.info("early stopping after epoch %d (best epoch %d)", epoch, stopper.best_epoch)
            break
    if early_stopping and es_cfg["restore_best"]:
        model.set_state(best_state)
    best_epoch = stopper.best_epoch if early_stopping else len(history)
    return TrainResult(
        history=history,
        best_epoch=best_epoch,
        epochs_run=len(history),
        seconds=time.perf_counter() - start,
        epoch_seconds=epoch_seconds,
        initial_state=initial,
        best_value=stopper.best_value,
    )


def predict(
    model: Model, x_rows: Callable[[slice], np.ndarray], zin: np.ndarray, n: int, chunk: int
) -> tuple[np.ndarray, np.ndarray]:
    """(latent [n, 50], recon [n, G]) float32 at training=False, on zero-padded blocks of ``chunk`` rows
    (the same blocks the counterfactual stage uses, so a row's result does not depend on its neighbours)."""
    from snakelab.scmedal.counterfactuals import padded_forward

    forward = inference_function(model)
    lat, rec = [], []
    for s in range(0, n, chunk):
        sl = slice(s, min(s + chunk, n))
        latent, recon = padded_forward(forward, x_rows(sl), zin[sl], chunk)
        lat.append(latent)
        rec.append(recon)
    return np.concatenate(lat), np.concatenate(rec)


def inference_function(model: Model) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(x, z) → (latent, recon) as NumPy at training=False (one compiled function)."""
    compiled = tf.function(lambda x, z: model.forward(x, z, training=False), reduce_retracing=True)

    def forward(x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = compiled(tf.constant(x, tf.float32), tf.constant(z, tf.float32))
        return out["latent"].numpy(), out["recon"].numpy()

    return forward
