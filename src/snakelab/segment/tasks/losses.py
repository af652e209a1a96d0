"""Weighted task losses (torch, imported by the training stage only).

Shapes: prediction, target and weight (B, C, z, y, x) float32 unless said otherwise.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def weighted_bce_with_logits(
    logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor:
    """mean(w · BCE-with-logits(logits, target)) over every voxel and channel."""
    return (F.binary_cross_entropy_with_logits(logits, target, reduction="none") * weight).mean()


def weighted_mse(prediction: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """mean(w · (p − t)²)."""
    return (weight * (prediction - target) ** 2).mean()


def weighted_cross_entropy(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """mean over voxels of Σ_c w[c]·t[c]·(−log softmax[c]) (one-hot ``target``, per-class ``weight``)."""
    return -(weight * target * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
