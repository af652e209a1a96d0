"""``field2d``: a Gaussian random field on an N×N periodic grid with power spectrum P(k) = A k^−B (§8).

θ = (A, B), θ_fid = (1, 0.5). One simulation: white noise w ~ N(0, 1)^{N×N}, field =
Re ifft2(√P(k)·fft2(w)), shape (N, N), with k = (2π/N)·|n| on the FFT frequency grid and P(0) = 0. The
zero mode is removed by a mask on the amplitude, and the power is evaluated at k = 1 there, so neither
the value nor the gradient with respect to (A, B) meets 0^−B. With NumPy's FFT normalisation the
periodogram |fft2(field)|²/N² has expectation P(k).

Analytic Fisher: F_ab = ½ Σ_n ∂_a ln P(k_n) ∂_b ln P(k_n) with ∂_A ln P = 1/A, ∂_B ln P = −ln k, over
``modes="full"`` (the N²−1 non-zero frequencies; exact for this simulator) or ``modes="quadrant"`` (the
reference's convention: n_x, n_y ∈ {1..N/2−1}).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from snakelab.imnn.simulators.registry import Simulator

DEFAULT_ARGS = {"N": 32}
MODES = ("full", "quadrant")


def _n(args: Mapping[str, Any]) -> int:
    return int(args.get("N", DEFAULT_ARGS["N"]))


def check_args(args: Mapping[str, Any]) -> None:
    """Raise ValueError unless ``N`` is an even integer ≥ 4."""
    n = args["N"]
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 4 or n % 2:
        raise ValueError(f"expected N an even integer >= 4, found {n!r}")


def wavenumbers(n_pixels: int) -> np.ndarray:
    """k = (2π/N)·|n| on the (N, N) FFT frequency grid (``numpy.fft.fftfreq`` order), float64."""
    n = np.fft.fftfreq(n_pixels, d=1.0 / n_pixels)
    return 2.0 * np.pi / n_pixels * np.hypot(n[:, None], n[None, :])


def simulate(key: Any, theta: Any, args: Mapping[str, Any]) -> Any:
    """One field of shape (N, N) in θ's floating dtype (float32 for integer θ)."""
    import jax
    import jax.numpy as jnp

    theta = jnp.asarray(theta)
    if not jnp.issubdtype(theta.dtype, jnp.floating):
        theta = theta.astype(jnp.float32)
    n_pixels = _n(args)
    k = wavenumbers(n_pixels)
    mask = jnp.asarray(k > 0, dtype=theta.dtype)
    k_safe = jnp.asarray(np.where(k > 0, k, 1.0), dtype=theta.dtype)
    amplitude = mask * jnp.sqrt(theta[0]) * k_safe ** (-theta[1] / 2)
    white = jax.random.normal(key, (n_pixels, n_pixels), dtype=theta.dtype)
    return jnp.real(jnp.fft.ifft2(amplitude * jnp.fft.fft2(white))).astype(theta.dtype)


def input_shape(args: Mapping[str, Any]) -> tuple[int, ...]:
    """(N, N)."""
    n = _n(args)
    return (n, n)


def informative_wavenumbers(n_pixels: int, modes: str = "full") -> np.ndarray:
    """The wavenumbers k counted by the Fisher convention ``modes`` (1-D, float64)."""
    if modes == "full":
        k = wavenumbers(n_pixels)
        return k[k > 0]
    if modes == "quadrant":
        q = np.arange(1, n_pixels // 2)
        return 2.0 * np.pi / n_pixels * np.hypot(q[:, None], q[None, :]).ravel()
    raise ValueError(f"modes: expected one of {', '.join(MODES)}, found {modes!r}")


def analytic_fisher(theta: np.ndarray, args: Mapping[str, Any], modes: str = "full") -> np.ndarray:
    """F (2, 2) float64 at θ = (A, B) for an N×N field, summed over the modes of ``modes``."""
    k = informative_wavenumbers(_n(args), modes)
    grad = np.stack([np.full_like(k, 1.0 / float(theta[0])), -np.log(k)])
    return 0.5 * grad @ grad.T


ENTRY = Simulator(
    name="field2d",
    simulate=simulate,
    parameter_names=("A", "B"),
    theta_fid=(1.0, 0.5),
    prior_low=(0.1, 0.0),
    prior_high=(2.0, 1.0),
    default_args=DEFAULT_ARGS,
    shape_fn=input_shape,
    fisher_fn=analytic_fisher,
    check_args_fn=check_args,
)
