"""Shape arithmetic of the CNNectome U-Net (spec §5), without torch.

The config check, the block planner and the trainer need output shapes and context before (or
without) building a network; :mod:`snakelab.segment.unet` builds the network these formulas
describe, and a test checks that they agree with a forward pass.

Valid padding, levels l = 0..L with downsample factors f_0..f_{L−1}; a conv pass of kernels k
shrinks each axis by c = Σ(k − 1). Down: s ← s − c_down(l); if l < L, s must be divisible by f_l and
s ← s / f_l. Up, l = L−1..0: s ← s·f_l, cropped to a multiple of F_l = Π_{m ≥ l} f_m plus c_up(l)
(s ← ⌊(s − c_up)/F_l⌋·F_l + c_up, which must stay > c_up), then s ← s − c_up(l). The output is a
multiple of F_0, so tiles whose offsets are multiples of the output are translation-equivariant.
Same padding: output = input, which must be divisible by F_0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

DEFAULT_KERNEL = [3, 3, 3]


class ShapeError(ValueError):
    """An input shape the U-Net cannot take; the message names the shape, factor and level."""


def _kernels(arch: Mapping[str, Any]) -> tuple[list[list[list[int]]], list[list[list[int]]]]:
    levels = len(arch.get("downsample_factors") or []) + 1
    down = arch.get("kernel_size_down") or [[DEFAULT_KERNEL, DEFAULT_KERNEL] for _ in range(levels)]
    up = arch.get("kernel_size_up") or [[DEFAULT_KERNEL, DEFAULT_KERNEL] for _ in range(levels - 1)]
    if len(down) != levels:
        raise ShapeError(f"kernel_size_down has {len(down)} levels, expected {levels}")
    if len(up) != levels - 1:
        raise ShapeError(f"kernel_size_up has {len(up)} levels, expected {levels - 1}")
    return [[list(k) for k in lvl] for lvl in down], [[list(k) for k in lvl] for lvl in up]


def kernel_sizes(arch: Mapping[str, Any]) -> tuple[list[list[list[int]]], list[list[list[int]]]]:
    """(down, up) kernel shapes per level, defaults filled (two 3³ convs per level)."""
    return _kernels(arch)


def _crop(kernels: Sequence[Sequence[int]], axis: int) -> int:
    return sum(int(k[axis]) - 1 for k in kernels)


def _factors(arch: Mapping[str, Any]) -> list[list[int]]:
    return [[int(f) for f in fs] for fs in (arch.get("downsample_factors") or [])]


def total_factor(arch: Mapping[str, Any]) -> tuple[int, ...]:
    """F_0 = Π_l f_l per axis."""
    factors = _factors(arch)
    return tuple(math.prod(f[a] for f in factors) for a in range(3))


def _axis_output(arch: Mapping[str, Any], size: int, axis: int, explain: bool = True) -> int:
    down, up = _kernels(arch)
    factors = _factors(arch)
    levels = len(factors)
    s = size
    if arch.get("padding", "valid") == "same":
        total = math.prod(f[axis] for f in factors)
        if s % total:
            raise ShapeError(
                f"input size {size} along axis {axis} is not divisible by the total downsample factor "
                f"{total} (same padding); valid sizes are multiples of {total}"
            )
        out = s
    else:
        for level in range(levels + 1):
            s -= _crop(down[level], axis)
            if s <= 0:
                raise ShapeError(
                    f"input size {size} along axis {axis} is too small: {s} left at level {level}"
                )
            if level < levels:
                f = factors[level][axis]
                if s % f:
                    raise ShapeError(
                        f"input size {size} along axis {axis}: {s} at level {level} is not divisible by "
                        f"downsample factor {f}"
                        + (f"; valid sizes: {valid_sizes(arch, axis, size)}" if explain else "")
                    )
                s //= f
        for level in range(levels - 1, -1, -1):
            s *= factors[level][axis]
            c = _crop(up[level], axis)
            big = math.prod(f[axis] for f in factors[level:])
            cropped = ((s - c) // big) * big + c
            if cropped <= c:
                raise ShapeError(
                    f"input size {size} along axis {axis} is too small to ensure translation equivariance "
                    f"at level {level} (factor {big})"
                    + (f"; valid sizes: {valid_sizes(arch, axis, size)}" if explain else "")
                )
            s = cropped - c
        out = s
    for f in arch.get("upsample_factors") or []:
        out *= int(f[axis])
    return out


def valid_sizes(arch: Mapping[str, Any], axis: int, near: int, count: int = 4) -> list[int]:
    """The first ``count`` input sizes ≥ ``near`` − 12 along ``axis`` that the network accepts."""
    out: list[int] = []
    size = max(1, near - 12)
    while len(out) < count and size < near + 1000:
        try:
            _axis_output(arch, size, axis, explain=False)
            out.append(size)
        except ShapeError:
            pass
        size += 1
    return out


def compute_output_shape(
    arch: Mapping[str, Any], input_shape: Sequence[int], head_kernel: int = 1
) -> tuple[int, tuple[int, ...]]:
    """(channels, spatial output shape) of the U-Net (plus a head of ``head_kernel``³) for ``input_shape``.

    Channels are ``fmaps_out``. Raises :class:`ShapeError` naming the axis, size, factor and level
    when the input cannot be taken, and listing sizes that can.
    """
    shape = tuple(_axis_output(arch, int(s), a) for a, s in enumerate(input_shape))
    if arch.get("padding", "valid") != "same":
        shape = tuple(s - (head_kernel - 1) for s in shape)
    return int(arch.get("fmaps_out") or arch["num_fmaps"]), shape


def eval_input_shape(arch: Mapping[str, Any]) -> tuple[int, ...]:
    """``input_shape + eval_shape_increase``."""
    increase = arch.get("eval_shape_increase") or [0, 0, 0]
    if isinstance(increase, int):
        increase = [increase] * 3
    return tuple(int(s) + int(i) for s, i in zip(arch["input_shape"], increase, strict=True))


def scale(arch: Mapping[str, Any], voxel_size: Sequence[int]) -> tuple[int, ...]:
    """Output voxel size: ``voxel_size`` divided by the product of ``upsample_factors`` per axis."""
    out = []
    for axis, v in enumerate(voxel_size):
        f = math.prod(int(u[axis]) for u in (arch.get("upsample_factors") or []))
        if v % f:
            raise ShapeError(f"voxel size {v} along axis {axis} is not divisible by the upsample factor {f}")
        out.append(v // f)
    return tuple(out)


def context(arch: Mapping[str, Any], input_shape: Sequence[int], head_kernel: int = 1) -> tuple[int, ...]:
    """(input − output)/2 per axis in input voxels; raises :class:`ShapeError` if not integral."""
    _, out = compute_output_shape(arch, input_shape, head_kernel)
    up = [math.prod(int(u[a]) for u in (arch.get("upsample_factors") or [])) for a in range(3)]
    result = []
    for a, (i, o) in enumerate(zip(input_shape, out, strict=True)):
        if o % up[a] or (i - o // up[a]) % 2:
            raise ShapeError(
                f"input {tuple(input_shape)} and output {out} differ by an odd number of voxels "
                f"along axis {a}; "
                "the context (input − output)/2 must be integral"
            )
        result.append((i - o // up[a]) // 2)
    return tuple(result)


def check_architecture(arch: Mapping[str, Any], head_kernel: int = 1) -> dict[str, Any]:
    """Check the training and evaluation shapes of ``arch``; return their output shapes and context.

    Raises :class:`ShapeError` with the reason (shape, factor, level, valid sizes).
    """
    train_in = tuple(int(s) for s in arch["input_shape"])
    eval_in = eval_input_shape(arch)
    factor = total_factor(arch)
    increase = [e - t for e, t in zip(eval_in, train_in, strict=True)]
    if any(i % f for i, f in zip(increase, factor, strict=True)):
        raise ShapeError(
            f"eval_shape_increase {increase} must be a multiple of the total downsample factor {list(factor)}"
        )
    _, train_out = compute_output_shape(arch, train_in, head_kernel)
    _, eval_out = compute_output_shape(arch, eval_in, head_kernel)
    return {
        "input_shape": train_in,
        "output_shape": train_out,
        "eval_input_shape": eval_in,
        "eval_output_shape": eval_out,
        "context": context(arch, eval_in, head_kernel),
        "train_context": context(arch, train_in, head_kernel),
    }
