"""Per-cell losses (spec §4): MSE over genes; CCE on softmax outputs clipped to [1e-7, 1 − 1e-7]."""

from __future__ import annotations

import tensorflow as tf

EPS = 1e-7


def mse_per_cell(x: tf.Tensor, x_hat: tf.Tensor) -> tf.Tensor:
    """Mean squared error over genes, one value per cell [n]."""
    return tf.reduce_mean(tf.square(x - x_hat), axis=1)


def cce_per_cell(target: tf.Tensor, prob: tf.Tensor) -> tf.Tensor:
    """Categorical cross-entropy of one-hot ``target`` under softmax ``prob``, per cell [n]."""
    return -tf.reduce_sum(target * tf.math.log(tf.clip_by_value(prob, EPS, 1.0 - EPS)), axis=1)


def correct_per_cell(target: tf.Tensor, prob: tf.Tensor) -> tf.Tensor:
    """1.0 where argmax(prob) equals argmax(target), else 0.0 [n]."""
    return tf.cast(tf.equal(tf.argmax(target, axis=1), tf.argmax(prob, axis=1)), tf.float32)
