"""Per-pixel group tests on the counterfactual genomaps (spec §10 ``genomap.stats``).

The counterfactual blocks of a map are the same cells "as if acquired" in each batch b. Each batch belongs to
a group (``group_col`` of its cells, e.g. AML vs control); the test compares the groups pixel by pixel:

* ``mwu``: the mean genomap of each cf block (over its n cells) → one value per batch and pixel; two-sided
  Mann–Whitney U between the batches of the two groups → ``<dataset>_pvals_mwu.csv``
  (pixel, gene, U, p, q_bh).
* ``mixedlm``: every cf row's value, ``value ~ group`` with a random intercept per cf batch (statsmodels
  MixedLM, REML) → ``<dataset>_pvals_me.csv`` (pixel, gene, coef, p, q_bh); ``coef`` is the second group's
  shift against the first.

q_bh are Benjamini–Hochberg q-values over the placed pixels. Rows are sorted by pixel (column-major index).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from snakelab.core.atomic import atomic_path
from snakelab.core.errors import InputError

log = logging.getLogger("snakelab.scmedal.genomap")

TESTS = ("mwu", "mixedlm")
MWU_COLUMNS = ("pixel", "gene", "U", "p", "q_bh")
ME_COLUMNS = ("pixel", "gene", "coef", "p", "q_bh")


def _cf_values(
    genomaps: np.ndarray, meta: pd.DataFrame, coords: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """(values [cf rows, placed genes] at the genes' pixels, cf batch of each row)."""
    cf = (meta["block"] == "cf").to_numpy()
    if not cf.any():
        raise InputError(None, "meta.block", "counterfactual (cf) rows in the multibatch matrix")
    values = genomaps[cf][:, coords["row"].to_numpy(), coords["col"].to_numpy(), 0].astype(np.float64)
    return values, meta["cf_batch"].to_numpy()[cf]


def _group_of(batches: np.ndarray, batch_groups: Mapping[str, str], groups: Sequence[str]) -> np.ndarray:
    if len(groups) != 2:
        raise InputError(None, "genomap.stats.groups", f"two group values, found {list(groups)}")
    missing = sorted({b for b in batches if b not in batch_groups})
    if missing:
        raise InputError(None, "genomap.stats.group_col", f"a group for every batch, none for {missing}")
    label = np.array([str(batch_groups[b]) for b in batches], dtype=object)
    for gv in groups:
        if not (label == str(gv)).any():
            raise InputError(None, "genomap.stats.groups", f"batches in group {gv!r}, found none")
    return label


def mwu_table(
    genomaps: np.ndarray,
    meta: pd.DataFrame,
    coords: pd.DataFrame,
    batch_groups: Mapping[str, str],
    groups: Sequence[str],
) -> pd.DataFrame:
    """Per-pixel two-sided Mann–Whitney U between the cf-block mean genomaps of the two groups' batches."""
    from scipy.stats import false_discovery_control, mannwhitneyu

    values, cf_batch = _cf_values(genomaps, meta, coords)
    batches = list(dict.fromkeys(cf_batch))
    means = np.stack([values[cf_batch == b].mean(axis=0) for b in batches])  # [B, genes]
    label = _group_of(np.asarray(batches), batch_groups, groups)
    a, b = means[label == str(groups[0])], means[label == str(groups[1])]
    res = mannwhitneyu(a, b, alternative="two-sided", axis=0)
    p = np.asarray(res.pvalue, dtype=np.float64)
    q = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = false_discovery_control(p[ok], method="bh")
    table = pd.DataFrame(
        {"pixel": coords["pixel"], "gene": coords["gene"], "U": res.statistic, "p": p, "q_bh": q}
    )
    return table.sort_values("pixel", kind="stable").reset_index(drop=True)[list(MWU_COLUMNS)]


def mixedlm_table(
    genomaps: np.ndarray,
    meta: pd.DataFrame,
    coords: pd.DataFrame,
    batch_groups: Mapping[str, str],
    groups: Sequence[str],
) -> pd.DataFrame:
    """Per-pixel ``value ~ group + (1 | cf batch)`` (statsmodels MixedLM); coef and p of the group term."""
    import statsmodels.formula.api as smf
    from scipy.stats import false_discovery_control

    values, cf_batch = _cf_values(genomaps, meta, coords)
    label = _group_of(cf_batch, batch_groups, groups)
    keep = np.isin(label, [str(g) for g in groups])
    group = (label[keep] == str(groups[1])).astype(np.float64)
    coef = np.full(values.shape[1], np.nan)
    p = np.full(values.shape[1], np.nan)
    for j in range(values.shape[1]):
        y = values[keep, j]
        if np.ptp(y) == 0:
            continue
        frame = pd.DataFrame({"value": y, "group": group, "batch": cf_batch[keep]})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fit = smf.mixedlm("value ~ group", frame, groups=frame["batch"]).fit(reml=True)
            except (np.linalg.LinAlgError, ValueError):
                continue
        coef[j], p[j] = fit.params["group"], fit.pvalues["group"]
    q = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = false_discovery_control(p[ok], method="bh")
    table = pd.DataFrame({"pixel": coords["pixel"], "gene": coords["gene"], "coef": coef, "p": p, "q_bh": q})
    return table.sort_values("pixel", kind="stable").reset_index(drop=True)[list(ME_COLUMNS)]


def genomap_stats(
    genomap_dir: str | os.PathLike[str],
    matrix_dir: str | os.PathLike[str],
    gname: str,
    batch_groups: Mapping[str, str],
    groups: Sequence[str],
    test: str,
    out_csv: str | os.PathLike[str],
) -> pd.DataFrame:
    """Run ``test`` (``mwu`` | ``mixedlm``) on ``<genomap_dir>/genomap_<gname>.npy``; write ``out_csv``.

    ``matrix_dir`` is the map's ``CMmultibatch_<gname>/`` (for ``meta.csv``); ``batch_groups`` maps every cf
    batch to its value of ``group_col`` (a batch-level column); ``groups`` the two values compared.
    """
    from snakelab.scmedal.genomap.make import read_genomap
    from snakelab.scmedal.genomap.multibatch import META_COLUMNS

    if test not in TESTS:
        raise InputError(None, "genomap.stats.test", f"one of {list(TESTS)}, found {test!r}")
    genomaps, coords = read_genomap(genomap_dir, gname)
    meta_path = Path(matrix_dir) / "meta.csv"
    meta = pd.read_csv(meta_path, dtype=str, keep_default_na=False)
    if list(meta.columns) != list(META_COLUMNS) or len(meta) != genomaps.shape[0]:
        raise InputError(meta_path, "rows", f"{genomaps.shape[0]} rows with columns {list(META_COLUMNS)}")
    batch_groups = {str(k): str(v) for k, v in batch_groups.items()}
    fn = mwu_table if test == "mwu" else mixedlm_table
    table = fn(genomaps, meta, coords, batch_groups, [str(g) for g in groups])
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    log.info("genomap stats (%s): %d pixels with p < 0.05", test, int((table["p"] < 0.05).sum()))
    return table
