"""The optax optimiser of the config ``optimiser:`` section (spec §9)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optax


def schedule(cfg: Mapping[str, Any], max_iterations: int) -> optax.Schedule | float:
    """``constant`` (peak ``learning_rate``) or ``warmup_cosine``: linear warm-up from 0 over
    ``warmup_steps`` to ``learning_rate``, cosine decay to ``end_learning_rate`` at ``max_iterations``."""
    lr = float(cfg.get("learning_rate", 2.0e-3))
    if cfg.get("schedule", "warmup_cosine") == "constant":
        return lr
    warmup = int(cfg.get("warmup_steps", 100))
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=lr,
        warmup_steps=warmup,
        decay_steps=max(max_iterations, warmup + 1),
        end_value=float(cfg.get("end_learning_rate", 1.0e-5)),
    )


def build(cfg: Mapping[str, Any], max_iterations: int) -> optax.GradientTransformation:
    """``adam`` or ``adamw`` with the schedule above, after global-norm clipping if ``clip_norm``."""
    name = cfg.get("name", "adam")
    lr = schedule(cfg, max_iterations)
    if name == "adam":
        opt = optax.adam(lr)
    elif name == "adamw":
        opt = optax.adamw(lr)
    else:
        raise ValueError(f"optimiser.name {name!r}: expected adam or adamw")
    clip = cfg.get("clip_norm")
    return optax.chain(optax.clip_by_global_norm(float(clip)), opt) if clip else opt
