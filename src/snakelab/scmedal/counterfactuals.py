"""Counterfactual reconstructions (spec §5): a cell "as if acquired in batch b".

cf(i, b) = RE model output at ``training=False`` for (x_i, onehot(b)): z swapped in every RE block.
Forward passes run on blocks of exactly ``chunk`` rows (zero-padded), as the train stage's
reconstructions do, so cf(i, batch_i) equals the cell's ``recon`` row bitwise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from snakelab.scmedal.config import hash12


def subset_id(spec: Mapping[str, Any]) -> str:
    """8 hex digits of the subset spec's canonical-JSON hash."""
    return hash12(dict(spec))[:8]


def padded_forward(
    forward: Callable[[np.ndarray, np.ndarray], Any], x: np.ndarray, z: np.ndarray, chunk: int
) -> list[np.ndarray]:
    """Run ``forward`` (returns latent, recon) on blocks of exactly ``chunk`` rows; return [latent, recon]."""
    n = x.shape[0]
    outs: list[list[np.ndarray]] = [[], []]
    for s in range(0, n, chunk):
        xb, zb = x[s : s + chunk], z[s : s + chunk]
        m = xb.shape[0]
        if m < chunk:
            xb = np.vstack([xb, np.zeros((chunk - m, x.shape[1]), x.dtype)])
            zb = np.vstack([zb, np.zeros((chunk - m, z.shape[1]), z.dtype)])
        lat, rec = forward(xb, zb)
        outs[0].append(np.asarray(lat)[:m])
        outs[1].append(np.asarray(rec)[:m])
    return [np.concatenate(o).astype(np.float32) for o in outs]


def counterfactual_recon(
    forward: Callable[[np.ndarray, np.ndarray], Any],
    x: np.ndarray,
    targets: Sequence[int],
    n_batches: int,
    chunk: int,
) -> np.ndarray:
    """recon [len(targets), n, G] float32: each row of ``x`` (scaled) reconstructed as from each target."""
    n = x.shape[0]
    rows = np.tile(x, (len(targets), 1))
    z = np.zeros((n * len(targets), n_batches), dtype=np.float32)
    for j, b in enumerate(targets):
        z[j * n : (j + 1) * n, b] = 1.0
    _, recon = padded_forward(forward, rows, z, chunk)
    return recon.reshape(len(targets), n, -1)
