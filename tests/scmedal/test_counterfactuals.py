"""Spec §14.10: cf(i, batch_i) equals the cell's recon row bitwise; the z swap changes the output."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from snakelab.scmedal.config import DEFAULTS  # noqa: E402
from snakelab.scmedal.counterfactuals import counterfactual_recon, subset_id  # noqa: E402
from snakelab.scmedal.models.build import build_model  # noqa: E402
from snakelab.scmedal.models.training import inference_function, predict  # noqa: E402


def test_own_batch_counterfactual_is_the_recon_row_bitwise() -> None:
    tf.keras.utils.set_random_seed(3)
    arch = {**DEFAULTS["architecture"], "layer_units": [32, 16], "latent_dim": 8}
    model = build_model("scmedalre", 40, 3, 2, arch)
    rng = np.random.default_rng(0)
    x = rng.random((70, 40)).astype(np.float32)
    batch = rng.integers(0, 3, 70)
    z = np.eye(3, dtype=np.float32)[batch]
    _, recon = predict(model, lambda sl: x[sl], z, 70, chunk=32)
    rows = np.array([5, 33, 64, 12])
    cf = counterfactual_recon(inference_function(model), x[rows], [0, 1, 2], 3, chunk=32)
    assert cf.shape == (3, 4, 40)
    for j, r in enumerate(rows):
        assert np.array_equal(cf[batch[r], j], recon[r])
        other = (batch[r] + 1) % 3
        assert not np.allclose(cf[other, j], recon[r])


def test_subset_id_is_eight_hex_of_the_spec() -> None:
    spec = {"split": "test", "fold": 1, "n_cells": 300, "seed": 0}
    sid = subset_id(spec)
    assert len(sid) == 8 and int(sid, 16) >= 0
    assert subset_id(dict(reversed(list(spec.items())))) == sid
    assert subset_id({**spec, "fold": 2}) != sid
