"""The six models (spec §4 table): parts, forward pass, variable lists and parameter counts.

==============  ===============================================  =====================
model           parts                                            heads
==============  ===============================================  =====================
``ae``          encoder E, tied decoder D                        —
``aec``         E, D                                             K(C) on the latent
``aec_batch``   E, D                                             K(B) on the latent
``scmedalfe``   E, D                                             adversary A on concat(h1, h2, l)
``scmedalfec``  E, D                                             A, K(C)
``scmedalre``   RE encoder, untied RE decoder                    RE batch classifier on the latent
==============  ===============================================  =====================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from snakelab.scmedal.models.layers import Encoder, TiedDecoder, head
from snakelab.scmedal.models.re_block import REBlock


def _unique(variables: list[Any]) -> list[Any]:
    seen: dict[int, Any] = {}
    for v in variables:
        seen.setdefault(id(v), v)
    return list(seen.values())


@dataclass
class Model:
    """One model: its Keras parts and the forward pass of spec §4.

    ``forward(x, z, training, seed)`` → dict with ``latent`` [n, 50], ``recon`` [n, G] and, as
    applicable, ``cls`` (softmax), ``adv`` (adversary softmax), ``kl`` (scalar).
    """

    name: str
    n_genes: int
    n_batches: int
    n_celltypes: int
    arch: Mapping[str, Any]
    parts: dict[str, Any] = field(default_factory=dict)

    @property
    def is_re(self) -> bool:
        return self.name == "scmedalre"

    @property
    def has_adversary(self) -> bool:
        return self.name in ("scmedalfe", "scmedalfec")

    @property
    def classifier_target(self) -> str | None:
        """``celltype``, ``batch`` or None: what the cls head predicts."""
        return {"aec": "celltype", "scmedalfec": "celltype", "aec_batch": "batch", "scmedalre": "batch"}.get(
            self.name
        )

    def forward(
        self, x: tf.Tensor, z: tf.Tensor, training: bool = False, seed: tf.Tensor | None = None
    ) -> dict:
        if self.is_re:
            return self._forward_re(x, z, training, seed)
        enc = self.parts["encoder"]
        *hidden, latent = enc(x, training=training)
        out = {"latent": latent, "recon": self.parts["decoder"](latent, enc.kernels()), "hidden": hidden}
        if "classifier" in self.parts:
            out["cls"] = self.parts["classifier"](latent)
        if self.has_adversary:
            out["adv"] = self.parts["adversary"](tf.concat([*hidden, latent], axis=1))
        return out

    def adversary_input(self, x: tf.Tensor, training: bool) -> tf.Tensor:
        """concat(h1, h2, l) of the encoder (694-d by default)."""
        return tf.concat(self.parts["encoder"](x, training=training), axis=1)

    def _forward_re(self, x, z, training, seed):
        p = self.parts
        kls_enc, kls_dec = [], []
        k = 0

        def block(name, h, kls):
            nonlocal k
            s = None if not training else tf.random.experimental.stateless_fold_in(seed, k)
            k += 1
            h, kl = p[name](h, z, training=training, seed=s)
            kls.extend(kl)
            return h

        h = x
        for i in range(len(self.arch["layer_units"])):
            h = tf.nn.selu(block(f"enc_re{i}", p[f"enc_dense{i}"](h), kls_enc))
        latent = p["enc_latent"](h)
        h = latent
        n_dec = len(self.arch["layer_units"])
        for i in range(n_dec):
            h = tf.nn.selu(block(f"dec_re{i}", p[f"dec_dense{i}"](h), kls_dec))
        recon = block("dec_re_out", p["dec_out"](h), kls_dec)
        kl = tf.reduce_mean(tf.stack(kls_enc)) + tf.reduce_mean(tf.stack(kls_dec))
        return {"latent": latent, "recon": recon, "cls": p["classifier"](latent), "kl": kl}

    # variables
    def main_variables(self) -> list[Any]:
        """Trainable variables updated by the main optimiser (no adversary), each once."""
        out = []
        for name, part in self.parts.items():
            if name != "adversary":
                out.extend(part.trainable_weights)
        return _unique(out)

    def adversary_variables(self) -> list[Any]:
        return list(self.parts["adversary"].trainable_weights) if self.has_adversary else []

    def tied_variables(self) -> list[Any]:
        """The encoder Dense kernels and biases the reference's tied decoder re-lists (6 by default)."""
        if self.is_re:
            return []
        enc = self.parts["encoder"]
        return [w for d in [*enc.dense, enc.latent] for w in (d.kernel, d.bias)]

    def state_variables(self) -> list[Any]:
        """Every variable (trainable and BN moving statistics, adversary included), each once, fixed order."""
        out = []
        for part in self.parts.values():
            out.extend(part.weights)
        return _unique(out)

    def parameter_count(self) -> int:
        return int(sum(np.prod(v.shape) for v in self.state_variables()))

    def get_state(self) -> list[np.ndarray]:
        return [np.array(v.numpy(), copy=True) for v in self.state_variables()]

    def set_state(self, values: list[np.ndarray]) -> None:
        for v, a in zip(self.state_variables(), values, strict=True):
            v.assign(a)


def build_model(name: str, n_genes: int, n_batches: int, n_celltypes: int, arch: Mapping[str, Any]) -> Model:
    """Create and build ``name`` for G genes, B batches, C cell types (``arch``: config architecture)."""
    units = list(arch["layer_units"])
    latent_dim = int(arch["latent_dim"])
    model = Model(name, n_genes, n_batches, n_celltypes, arch)
    p = model.parts
    if name == "scmedalre":
        re = dict(arch["re"])
        re_kwargs = {
            "prior_scale": re["prior_scale"],
            "post_loc_init_scale": re["post_loc_init_scale"],
            "post_scale_init": tuple(re["post_scale_init"]),
            "kl_weight": re["kl_weight"],
            "kl_exact": re["kl_exact"],
        }
        for i, u in enumerate(units):
            p[f"enc_dense{i}"] = keras.layers.Dense(u)
            p[f"enc_re{i}"] = REBlock(n_batches, u, **re_kwargs)
        p["enc_latent"] = keras.layers.Dense(latent_dim, activation="selu")
        for i, u in enumerate(units[::-1]):
            p[f"dec_dense{i}"] = keras.layers.Dense(u)
            p[f"dec_re{i}"] = REBlock(n_batches, u, **re_kwargs)
        p["dec_out"] = keras.layers.Dense(n_genes)
        p["dec_re_out"] = REBlock(n_batches, n_genes, **re_kwargs)
        p["classifier"] = head(arch["re_classifier_units"], n_batches)
    else:
        p["encoder"] = Encoder(units, latent_dim, batch_norm=bool(arch["batch_norm"]))
        p["decoder"] = TiedDecoder([*units[::-1], n_genes], arch["last_activation"])
        if name in ("aec", "scmedalfec"):
            p["classifier"] = head(arch["classifier_units"], n_celltypes)
        elif name == "aec_batch":
            p["classifier"] = head(arch["classifier_units"], n_batches)
        if name in ("scmedalfe", "scmedalfec"):
            p["adversary"] = head(arch["adversary_units"], n_batches)
    x = tf.zeros((2, n_genes))
    z = tf.zeros((2, n_batches))
    model.forward(x, z, training=False)
    return model


def init_output_norm(model: Model, mean: np.ndarray, sd: np.ndarray) -> None:
    """Start the RE decoder's output BatchNorm at γ = ``sd``, β = ``mean`` (per gene, shape (G,)), so the
    initial reconstruction has the scale of the data (``architecture.re.output_norm_init: data``)."""
    if not model.is_re:
        raise ValueError(f"output_norm_init: expected the scmedalre model, found {model.name}")
    norm = model.parts["dec_re_out"].norm
    norm.gamma.assign(np.asarray(sd, dtype=np.float32))
    norm.beta.assign(np.asarray(mean, dtype=np.float32))
