"""Building blocks of the models (spec §4): encoder E, tied decoder D, heads.

All Dense layers use Keras defaults (glorot_uniform kernel, zero bias); BatchNormalization Keras
defaults (momentum 0.99, epsilon 1e-3).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf


class Encoder(keras.layers.Layer):
    """For u in ``units``: Dense(u) → BN (``batch_norm``) → SELU; then Dense(latent, SELU).

    ``call`` returns the block outputs [h_1, ..., h_k, l] (512, 132, 50 by default).
    """

    def __init__(self, units: Sequence[int], latent_dim: int, batch_norm: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dense = [keras.layers.Dense(u) for u in units]
        self.norms = [keras.layers.BatchNormalization() for _ in units] if batch_norm else []
        self.latent = keras.layers.Dense(latent_dim, activation="selu")

    def call(self, x: tf.Tensor, training: bool = False) -> list[tf.Tensor]:
        outs = []
        h = x
        for i, dense in enumerate(self.dense):
            h = dense(h)
            if self.norms:
                h = self.norms[i](h, training=training)
            h = tf.nn.selu(h)
            outs.append(h)
        outs.append(self.latent(h))
        return outs

    def kernels(self) -> list[tf.Variable]:
        """W_0, W_1, ..., W_l: the Dense kernels, input side first (the tied decoder's weights)."""
        return [d.kernel for d in self.dense] + [self.latent.kernel]


class TiedDecoder(keras.layers.Layer):
    """``SELU(l·W_lᵀ + b'_1)`` → ... → ``·W_0ᵀ + b'_k`` with the encoder's kernels and new biases, no BN.

    The encoder is passed to ``call`` (not stored), so its kernels are not tracked twice.
    """

    def __init__(self, sizes: Sequence[int], last_activation: str = "linear", **kwargs) -> None:
        super().__init__(**kwargs)
        self.sizes = list(sizes)
        self.last_activation = keras.activations.get(last_activation)

    def build(self, input_shape) -> None:
        self.biases = [
            self.add_weight(shape=(n,), initializer="zeros", name=f"bias_{i}")
            for i, n in enumerate(self.sizes)
        ]

    def call(self, latent: tf.Tensor, kernels: Sequence[tf.Variable]) -> tf.Tensor:
        h = latent
        reversed_kernels = list(kernels)[::-1]
        for i, (w, b) in enumerate(zip(reversed_kernels, self.biases, strict=True)):
            h = tf.matmul(h, w, transpose_b=True) + b
            h = tf.nn.selu(h) if i < len(self.biases) - 1 else self.last_activation(h)
        return h


def head(units: Sequence[int], n_out: int, hidden_activation: str = "relu") -> keras.Sequential:
    """Dense(u, ReLU) for u in ``units`` → Dense(n_out, softmax)."""
    return keras.Sequential(
        [keras.layers.Dense(u, activation=hidden_activation) for u in units]
        + [keras.layers.Dense(n_out, activation="softmax")]
    )
