"""Score-compressed parameter estimates (spec §5): θ̂ = θ_fid + F⁻¹ Jᵀ C⁻¹ (x(w, d) − μ).

The statistics are those of ``fit/statistics.npz`` (``mu, C, invC, dmu_dtheta, F, invF, theta_fid``),
computed at the fitted weights (spec §4.6); F⁻¹ is the Gaussian-approximation covariance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from snakelab.core.errors import InputError

STAT_KEYS = ("mu", "C", "invC", "dmu_dtheta", "F", "invF", "theta_fid")


def load_statistics(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of a ``statistics.npz``; a missing file or key is a one-line InputError."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "statistics", "no fitted statistics yet: run the fit stage first")
    with np.load(path) as z:
        missing = [k for k in STAT_KEYS if k not in z]
        if missing:
            raise InputError(path, ",".join(missing), f"expected arrays {', '.join(STAT_KEYS)}")
        return {k: z[k] for k in STAT_KEYS}


def compression_matrix(stats: Mapping[str, np.ndarray]) -> np.ndarray:
    """F⁻¹ Jᵀ C⁻¹, shape (n_params, n_summaries)."""
    return stats["invF"] @ stats["dmu_dtheta"].T @ stats["invC"]


def estimate_from_summaries(x: Any, stats: Mapping[str, np.ndarray]) -> jax.Array:
    """θ̂ of summaries x (n_summaries,) or (B, n_summaries) → (n_params,) or (B, n_params)."""
    M = jnp.asarray(compression_matrix(stats))
    return jnp.asarray(stats["theta_fid"]) + (jnp.asarray(x) - jnp.asarray(stats["mu"])) @ M.T


def make_estimator(
    apply: Callable, w: Any, stats: Mapping[str, np.ndarray] | None, input_shape: tuple[int, ...]
) -> Callable[[Any], jax.Array]:
    """``estimate(d)`` for one input (*input_shape) → (n_params,) or a batch (B, *input_shape) →
    (B, n_params). ``stats`` None (no fit yet) raises a one-line InputError."""
    if stats is None:
        raise InputError(None, "statistics", "the estimator needs fitted statistics (fit/statistics.npz)")
    M = jnp.asarray(compression_matrix(stats))
    mu = jnp.asarray(stats["mu"])
    theta_fid = jnp.asarray(stats["theta_fid"])
    shape = tuple(input_shape)

    def one(d: jax.Array) -> jax.Array:
        return theta_fid + M @ (apply(w, d) - mu)

    single = jax.jit(one)
    batched = jax.jit(jax.vmap(one))

    def estimate(d: Any) -> jax.Array:
        d = jnp.asarray(d)
        if d.shape == shape:
            return single(d)
        if d.shape[1:] == shape:
            return batched(d)
        raise InputError(None, "input", f"expected shape {shape} or (B, *{shape}), got {d.shape}")

    return estimate
