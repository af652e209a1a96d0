"""Which cells a genomap shows, and the map's name (spec §10)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from snakelab.core.errors import InputError

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def select_cells(
    obs: pd.DataFrame,
    n_cells: int,
    seed: int,
    fold: int,
    celltypes: Sequence[str] | None = None,
    forced_batches: Sequence[str] | None = None,
) -> np.ndarray:
    """Row positions (int64 [n]) into ``obs`` of the genomap's cells.

    ``obs`` holds the split's cells in ``splits.json`` order with columns ``batch`` and ``celltype``.
    Candidates are the cells whose celltype is in ``celltypes`` (all cells when None). With
    ``rng = default_rng(SeedSequence([seed, fold]))``: first one cell drawn uniformly from each forced batch,
    in the listed order; then the remaining ``n_cells − len(forced)`` drawn uniformly without replacement
    from the other candidates, returned in ascending row order. Fewer candidates than ``n_cells``: all.
    """
    for col in ("batch", "celltype"):
        if col not in obs.columns:
            raise InputError(None, f"obs.{col}", "a column of the split's cells")
    cand = np.ones(len(obs), dtype=bool)
    if celltypes is not None:
        cand = obs["celltype"].astype(str).isin([str(c) for c in celltypes]).to_numpy()
        if not cand.any():
            raise InputError(
                None, "celltypes", f"cell types present in the split, none of {list(celltypes)} is"
            )
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(fold)]))
    batch = obs["batch"].astype(str).to_numpy()
    forced: list[int] = []
    for b in forced_batches or ():
        pool = np.flatnonzero(cand & (batch == str(b)))
        if pool.size == 0:
            raise InputError(None, "forced_batches", f"batch {b!r} with a cell of the listed cell types")
        forced.append(int(pool[rng.integers(pool.size)]))
    rest = np.setdiff1d(np.flatnonzero(cand), forced)
    k = min(max(int(n_cells) - len(forced), 0), rest.size)
    drawn = np.sort(rng.choice(rest, size=k, replace=False)) if k else np.empty(0, dtype=np.int64)
    return np.concatenate([np.asarray(forced, dtype=np.int64), drawn.astype(np.int64)])


def gname(n_cells: int, n_batches: int, split: str, fold: int, celltypes: Sequence[str] | None) -> str:
    """``<n>_cells_per_batch_<B>batches_<split>_<fold>_<celltypes joined by _>_with_2fe_input``.

    ``celltypes`` None is written ``allcelltypes``; characters outside ``[A-Za-z0-9._+-]`` become ``-``.
    """
    types = "_".join(str(c) for c in celltypes) if celltypes else "allcelltypes"
    name = (
        f"{int(n_cells)}_cells_per_batch_{int(n_batches)}batches_{split}_{int(fold)}_{types}_with_2fe_input"
    )
    return _UNSAFE.sub("-", name)
