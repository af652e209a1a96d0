"""The random-effects block of scMEDAL-RE (spec §4 "RE model").

``RE block(n)`` = BN(n) → h·(1 + z·Γ) + z·Β with Bayesian weight tables Γ, Β ∈ R^{B×n}: mean-field
Normal posteriors (mean ~ N(0, 0.1²), σ = 1e-5 + softplus(ρ) starting in [0.01, 0.015]), fixed prior
N(0, 0.25²). Training mode draws one reparameterised sample per table per forward pass (stateless, from
the ``seed`` tensor); inference uses the posterior means. Each table's KL term is
``kl_weight · Σ [log q(w) − log p(w)]`` at the sample (``kl_exact``: the closed form).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

_LOG_2PI = math.log(2.0 * math.pi)


def softplus_inverse(y: float) -> float:
    """x with softplus(x) = y (y > 0)."""
    return float(y + np.log(-np.expm1(-y)))


def normal_log_prob(w: tf.Tensor, loc: tf.Tensor, scale: tf.Tensor) -> tf.Tensor:
    """Elementwise log N(w; loc, scale²)."""
    return -0.5 * tf.square((w - loc) / scale) - tf.math.log(scale) - 0.5 * _LOG_2PI


class REBlock(keras.layers.Layer):
    """BN → h·(1 + z·Γ) + z·Β; ``call`` returns (output, kl) with kl a scalar (0 at inference)."""

    def __init__(
        self,
        n_batches: int,
        units: int,
        prior_scale: float = 0.25,
        post_loc_init_scale: float = 0.1,
        post_scale_init: tuple[float, float] = (0.01, 0.015),
        kl_weight: float = 1e-5,
        kl_exact: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.n_batches, self.units = n_batches, units
        self.prior_scale, self.kl_weight, self.kl_exact = prior_scale, kl_weight, kl_exact
        self.post_loc_init_scale = post_loc_init_scale
        self.rho_range = (
            softplus_inverse(post_scale_init[0] - 1e-5),
            softplus_inverse(post_scale_init[1] - 1e-5),
        )
        self.norm = keras.layers.BatchNormalization()

    def build(self, input_shape) -> None:
        shape = (self.n_batches, self.units)
        loc_init = keras.initializers.RandomNormal(stddev=self.post_loc_init_scale)
        rho_init = keras.initializers.RandomUniform(*self.rho_range)
        self.gamma_loc = self.add_weight(shape=shape, initializer=loc_init, name="gamma_loc")
        self.gamma_rho = self.add_weight(shape=shape, initializer=rho_init, name="gamma_rho")
        self.beta_loc = self.add_weight(shape=shape, initializer=loc_init, name="beta_loc")
        self.beta_rho = self.add_weight(shape=shape, initializer=rho_init, name="beta_rho")
        self.norm.build(input_shape)

    def scales(self) -> tuple[tf.Tensor, tf.Tensor]:
        """Posterior σ of Γ and Β."""
        return 1e-5 + tf.nn.softplus(self.gamma_rho), 1e-5 + tf.nn.softplus(self.beta_rho)

    def _table(self, loc: tf.Tensor, scale: tf.Tensor, seed: tf.Tensor | None) -> tuple[tf.Tensor, tf.Tensor]:
        if seed is None:
            return tf.convert_to_tensor(loc), tf.constant(0.0)
        eps = tf.random.stateless_normal(tf.shape(loc), seed=seed, dtype=loc.dtype)
        w = loc + scale * eps
        prior = tf.constant(self.prior_scale, dtype=loc.dtype)
        if self.kl_exact:
            kl = tf.reduce_sum(
                tf.math.log(prior / scale) + (tf.square(scale) + tf.square(loc)) / (2.0 * prior**2) - 0.5
            )
        else:
            kl = tf.reduce_sum(normal_log_prob(w, loc, scale) - normal_log_prob(w, 0.0, prior))
        return w, self.kl_weight * kl

    def call(self, h: tf.Tensor, z: tf.Tensor, training: bool = False, seed: tf.Tensor | None = None):
        """``seed`` (int32 [2]) is required in training mode; returns (output, [kl_gamma, kl_beta])."""
        h = self.norm(h, training=training)
        gamma_scale, beta_scale = self.scales()
        s_gamma = s_beta = None
        if training:
            s_gamma = tf.random.experimental.stateless_fold_in(seed, 0)
            s_beta = tf.random.experimental.stateless_fold_in(seed, 1)
        gamma, kl_gamma = self._table(self.gamma_loc, gamma_scale, s_gamma)
        beta, kl_beta = self._table(self.beta_loc, beta_scale, s_beta)
        out = h * (1.0 + tf.matmul(z, gamma)) + tf.matmul(z, beta)
        return out, [kl_gamma, kl_beta]
