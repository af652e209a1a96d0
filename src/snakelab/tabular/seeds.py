"""Seeds of the tabular pipeline (spec §6 "Seeds"): every random draw has a stored, derived seed.

``derive_seed(root, *path) = SeedSequence(entropy=root, spawn_key=tuple(k(p) for p in path))
.generate_state(1, uint32)[0]`` (:func:`snakelab.core.seeds.integer_seed`), where ``k(str)`` is the
first 4 bytes of the string's UTF-8 sha256 read little-endian and ``k(int)`` is the int itself.
Splits and folds depend only on the root seed, the dataset, the label column(s) and the stratifier
(not on the encoders), so pipelines that differ only in encoders are compared on the same samples.

Only ``default_rng``/``SeedSequence`` are used under ``snakelab.tabular``; never ``random.*`` nor the
legacy ``np.random.*`` module functions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from snakelab.core.config_hash import canonical_json
from snakelab.core.seeds import integer_seed

#: the path element that stands for "no fold" (fold_idx -1) in a run seed.
NO_FOLD = "no_fold"


def path_key(part: str | int) -> int:
    """``k(part)``: a string's first 4 sha256 bytes (little-endian), or a non-negative int itself."""
    if isinstance(part, str):
        return int.from_bytes(hashlib.sha256(part.encode("utf-8")).digest()[:4], "little")
    if isinstance(part, bool) or not isinstance(part, int) or part < 0:
        raise ValueError(f"seed path elements must be strings or non-negative integers, got {part!r}")
    return part


def derive_seed(root: int, *path: str | int) -> int:
    """A uint32 seed for ``path`` under the root seed ``root`` (non-negative int).

    >>> derive_seed(0, "split", "iris") == derive_seed(0, "split", "iris")
    True
    """
    return integer_seed(root, *(path_key(p) for p in path))


def label_key(columns: Sequence[str] | str | None) -> str:
    """The label part of a split seed path: the column, columns joined by ``,``, or ``""`` (none)."""
    if columns is None:
        return ""
    if isinstance(columns, str):
        return columns
    return ",".join(columns)


def stratifier_hash(stratifier: Mapping[str, Any]) -> str:
    """sha256 (hex) of the canonical JSON of a stratifier section (keys with value ``None`` dropped)."""
    kept = {k: v for k, v in stratifier.items() if v is not None}
    return hashlib.sha256(canonical_json(kept).encode("utf-8")).hexdigest()


def split_seed(root: int, dataset: str, label: Sequence[str] | str | None, stratifier: str) -> int:
    """``derive_seed(root, "split", dataset, label column(s), stratifier hash)``."""
    return derive_seed(root, "split", dataset, label_key(label), stratifier)


def fold_seed(root: int, dataset: str, label: Sequence[str] | str | None, stratifier: str) -> int:
    """``derive_seed(root, "folds", dataset, label column(s), stratifier hash)``."""
    return derive_seed(root, "folds", dataset, label_key(label), stratifier)


def search_seed(root: int, experiment: str) -> int:
    """``derive_seed(root, "search", experiment)``: draws the hyperparameter combos of a random search."""
    return derive_seed(root, "search", experiment)


def run_seed(root: int, experiment: str, combo_idx: int, fold_idx: int, repeat_idx: int) -> int:
    """``derive_seed(root, "run", experiment, combo_idx, fold_idx, repeat_idx)``.

    ``fold_idx`` -1 (a splitset without folds) enters the path as the string ``"no_fold"``.
    """
    fold: str | int = NO_FOLD if fold_idx == -1 else fold_idx
    return derive_seed(root, "run", experiment, combo_idx, fold, repeat_idx)


def fi_seed(run_seed_value: int) -> int:
    """``derive_seed(run_seed, "fi")``: the permutation feature importance seed of a run."""
    return derive_seed(run_seed_value, "fi")
