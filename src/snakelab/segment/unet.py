"""The CNNectome-style 3-D U-Net (spec §5) and the model = U-Net + task head (+ eval activation).

Level l has ``num_fmaps·fmap_inc_factor^l`` feature maps; every convolution is followed by ReLU;
max-pool downsampling; on the way up, nearest-neighbour upsampling then a 1×1×1 conv
(``constant_upsample``) or a transposed conv, the upsampled maps cropped to a multiple of the
remaining downsample factor (valid padding), the skip connection centre-cropped to them and
concatenated. The top pass outputs ``fmaps_out`` maps; the head is a 1×1×1 conv (``kernel_size``
for one-hot). Shapes follow :mod:`snakelab.segment.shapes` exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from snakelab.segment import shapes


def _conv_pass(
    in_ch: int, out_ch: int, kernels: Sequence[Sequence[int]], padding: str, batch_norm: bool
) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k in kernels:
        pad = tuple(int(x) // 2 for x in k) if padding == "same" else 0
        layers.append(nn.Conv3d(in_ch, out_ch, tuple(int(x) for x in k), padding=pad))
        if batch_norm:
            layers.append(nn.BatchNorm3d(out_ch))
        layers.append(nn.ReLU(inplace=True))
        in_ch = out_ch
    return nn.Sequential(*layers)


def center_crop(x: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """The centre ``shape`` (spatial) of ``x`` (N, C, z, y, x)."""
    begin = [(s - t) // 2 for s, t in zip(x.shape[2:], shape, strict=True)]
    return x[(..., *(slice(b, b + t) for b, t in zip(begin, shape, strict=True)))]


class CNNectomeUNet(nn.Module):
    """3-D U-Net; ``arch`` is the architecture config (see the module docstring and spec §5)."""

    def __init__(self, arch: Mapping[str, Any]) -> None:
        super().__init__()
        self.arch = dict(arch)
        self.padding = arch.get("padding", "valid")
        down_k, up_k = shapes.kernel_sizes(arch)
        self.factors = [tuple(int(f) for f in fs) for fs in (arch.get("downsample_factors") or [])]
        self.up_kernels = up_k
        levels = len(self.factors)
        inc = int(arch.get("fmap_inc_factor", 2))
        num = int(arch["num_fmaps"])
        fmaps = [num * inc**level for level in range(levels + 1)]
        fmaps_out = int(arch.get("fmaps_out") or num)
        batch_norm = bool(arch.get("batch_norm", False))
        constant = bool(arch.get("constant_upsample", True))
        fmaps_in = int(arch.get("fmaps_in", 1))
        self.down = nn.ModuleList(
            _conv_pass(
                fmaps_in if level == 0 else fmaps[level - 1],
                fmaps[level],
                down_k[level],
                self.padding,
                batch_norm,
            )
            for level in range(levels + 1)
        )
        self.pool = nn.ModuleList(nn.MaxPool3d(f, stride=f) for f in self.factors)
        self.upsample = nn.ModuleList(
            self._upsampler(fmaps[level + 1], f, constant) for level, f in enumerate(self.factors)
        )
        self.up = nn.ModuleList(
            _conv_pass(
                fmaps[level] + fmaps[level + 1],
                fmaps_out if level == 0 else fmaps[level],
                up_k[level],
                self.padding,
                batch_norm,
            )
            for level in range(levels)
        )
        top = fmaps_out if levels else fmaps[0]
        self.final = nn.ModuleList(
            self._upsampler(top, tuple(int(x) for x in f), constant)
            for f in (arch.get("upsample_factors") or [])
        )
        self.out_channels = top

    @staticmethod
    def _upsampler(channels: int, factor: Sequence[int], constant: bool) -> nn.Module:
        factor = tuple(int(f) for f in factor)
        if constant:
            return nn.Sequential(
                nn.Upsample(scale_factor=factor, mode="nearest"), nn.Conv3d(channels, channels, 1)
            )
        return nn.ConvTranspose3d(channels, channels, factor, stride=factor)

    def _crop_to_factor(self, x: torch.Tensor, level: int) -> torch.Tensor:
        if self.padding == "same":
            return x
        factor = [math.prod(f[a] for f in self.factors[level:]) for a in range(3)]
        conv = [sum(int(k[a]) - 1 for k in self.up_kernels[level]) for a in range(3)]
        target = [((s - c) // f) * f + c for s, c, f in zip(x.shape[2:], conv, factor, strict=True)]
        if any(t <= c for t, c in zip(target, conv, strict=True)):
            raise shapes.ShapeError(
                f"feature map {tuple(x.shape[2:])} too small to ensure translation equivariance"
            )
        return center_crop(x, target)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for level, conv in enumerate(self.down):
            x = conv(x)
            if level < len(self.factors):
                skips.append(x)
                x = self.pool[level](x)
        for level in range(len(self.factors) - 1, -1, -1):
            x = self._crop_to_factor(self.upsample[level](x), level)
            x = torch.cat([center_crop(skips[level], x.shape[2:]), x], dim=1)
            x = self.up[level](x)
        for layer in self.final:
            x = layer(x)
        return x


class Model(nn.Module):
    """U-Net → head (``channels`` maps, ``head_kernel``³ conv); ``eval_activation`` applied in eval mode."""

    def __init__(
        self, arch: Mapping[str, Any], channels: int, head_kernel: int = 1, activation: str | None = None
    ):
        super().__init__()
        self.unet = CNNectomeUNet(arch)
        self.head = nn.Conv3d(self.unet.out_channels, channels, head_kernel)
        self.activation = activation
        self.arch = dict(arch)
        self.head_kernel = head_kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.head(self.unet(x))
        if not self.training:
            y = apply_activation(y, self.activation)
        return y

    def compute_output_shape(self, input_shape: Sequence[int]) -> tuple[int, tuple[int, ...]]:
        """(channels, spatial shape) for ``input_shape`` (analytic; see :mod:`shapes`)."""
        _, shape = shapes.compute_output_shape(self.arch, input_shape, self.head_kernel)
        return self.head.out_channels, shape


def apply_activation(y: torch.Tensor, activation: str | None) -> torch.Tensor:
    """``sigmoid``, ``softmax`` (over channels) or none."""
    if activation == "sigmoid":
        return torch.sigmoid(y)
    if activation == "softmax":
        return torch.softmax(y, dim=1)
    return y
