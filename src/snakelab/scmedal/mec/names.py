"""MEC run names, feature-set names and the leakage caveat (spec §7, §9)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from snakelab.core.config_hash import config_hash

#: Printed in the log of every MEC stage and in the report (spec §9).
LEAKAGE_CAVEAT = (
    "MEC leakage caveat: the reference's targets are batch-level (patient group, diagnosis, tissue "
    "region), its splits are by cell, and the RE latent is trained to encode batch, so FE + RE at "
    "95-100% accuracy is close to a batch-ID lookup. Non-trivial claims need splits.mode: batches "
    "(held-out batches)."
)

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def features_name(fe_latent: str, with_re: bool, re_latent: str = "scmedalre") -> str:
    """The feature-set name: ``scmedalfe`` or ``scmedalfe+scmedalre`` (``fe_latent`` may be external)."""
    return f"{fe_latent}+{re_latent}" if with_re else fe_latent


def mec_run_name(features: str, target: str, config: Mapping[str, Any]) -> str:
    """``run_mec_<features>_<target>_<hash12>``.

    ``config`` is everything the run's numbers depend on (e.g. the feature latents' run names, the splits
    hash, ``n_estimators``, ``rf_seed``); its canonical-JSON SHA-256 gives the 12 hex digits. Characters
    of ``features``/``target`` outside ``[A-Za-z0-9._+-]`` become ``-``.
    """
    body = {"features": features, "target": target, "config": dict(config)}
    return f"run_mec_{_UNSAFE.sub('-', features)}_{_UNSAFE.sub('-', target)}_{config_hash(body, 12)}"
