"""Adam as Keras computes it (spec §4 "Training loop"), with the reference's duplicate-update defect.

Per update with step count t (float32, in Keras's operation order): m ← m + (g − m)(1 − β1);
v ← v + (g² − v)(1 − β2);
w ← w − lr·√(1 − β2^t)/(1 − β1^t) · m/(√v + ε). ``duplicates`` lists variables that get a second
successive update with the same gradient and the same t (``faithful.duplicate_tied_updates``: the
reference's FE/FEC update list names the 6 tied encoder variables twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf


class Adam:
    """Adam over a fixed list of variables; ``apply(grads)`` takes gradients in that order."""

    def __init__(
        self,
        variables: Sequence[Any],
        lr: float = 1e-4,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        duplicates: Sequence[Any] = (),
    ) -> None:
        self.variables = list(variables)
        self.lr, self.beta_1, self.beta_2, self.epsilon = lr, beta_1, beta_2, epsilon
        ids = {id(v) for v in duplicates}
        self.repeat = [2 if id(v) in ids else 1 for v in self.variables]
        self.m = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False) for v in self.variables]
        self.v = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False) for v in self.variables]
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False)

    def apply(self, grads: Sequence[tf.Tensor]) -> None:
        t = tf.cast(self.iterations.assign_add(1), tf.float32)
        beta_1 = tf.constant(self.beta_1, tf.float32)
        beta_2 = tf.constant(self.beta_2, tf.float32)
        alpha = self.lr * tf.sqrt(1.0 - tf.pow(beta_2, t)) / (1.0 - tf.pow(beta_1, t))
        for var, g, m, v, n in zip(self.variables, grads, self.m, self.v, self.repeat, strict=True):
            for _ in range(n):
                m.assign_add((g - m) * (1.0 - beta_1))
                v.assign_add((tf.square(g) - v) * (1.0 - beta_2))
                var.assign_sub((m * alpha) / (tf.sqrt(v) + self.epsilon))
