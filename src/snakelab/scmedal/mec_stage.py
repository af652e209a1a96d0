"""Stages ``mec`` and ``mec-aggregate`` (spec §9): wiring of :mod:`snakelab.scmedal.mec` to the tree.

Features of a run are an FE-like latent (``scmedalfe``, ``scmedalfec``, ``X_pca`` or an external
latent of ``compare.external_latents``), optionally ⊕ the ``scmedalre`` latent (``a+scmedalre``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core.errors import InputError
from snakelab.scmedal import config as C
from snakelab.scmedal.paths import Tree

log = logging.getLogger("snakelab.scmedal.mec")


def feature_latents(cfg: Mapping[str, Any], tree: Tree, features: str, fold: int) -> dict[str, np.ndarray]:
    """{split: FE-like latent ⊕ RE latent} of one fold (rows in splits.json order)."""
    from snakelab.scmedal.mec.classify import concat_features

    out = {}
    for split in C.SPLITS:
        parts = []
        for part in features.split("+"):
            path = tree.latent(C.latent_source(cfg, part, "mec features"), fold, split)
            if not Path(path).is_file():
                raise InputError(path, "latent", f"expected the {part} latent of fold {fold}, split {split}")
            parts.append(np.load(path))
        out[split] = concat_features(parts[0], parts[1] if len(parts) > 1 else None)
    return out


def run_mec(cfg: Mapping[str, Any], tree: Tree, dataset: str, features: str, target: str, fold: int) -> Any:
    """One fold of one MEC run: RF and chance on the features, files in ``<mec_run>/splits_<k>/``;
    returns the metrics frame (index split, columns RF/Chance (balanced) accuracy)."""
    from snakelab.scmedal.mec.classify import run_mec_fold
    from snakelab.scmedal.mec.names import LEAKAGE_CAVEAT
    from snakelab.scmedal.stages import fold_obs

    obs = fold_obs(tree, fold)
    if target not in obs["train"].columns:
        raise InputError(
            tree.adata(), f"obs[{target!r}]", "expected the MEC target column (datasets.<name>.targets)"
        )
    log.info(LEAKAGE_CAVEAT)
    return run_mec_fold(
        feature_latents(cfg, tree, features, fold),
        {s: obs[s][target].astype(str).to_numpy() for s in C.SPLITS},
        {s: obs[s].index.astype(str).to_numpy() for s in C.SPLITS},
        Path(tree.mec_metrics(features, target, fold)).parent,
        n_estimators=int(cfg["mec"]["n_estimators"]),
        rf_seed=int(cfg["mec"]["rf_seed"]),
    )


def run_mec_aggregate(cfg: Mapping[str, Any], tree: Tree, dataset: str) -> None:
    """Fold aggregates of every MEC run and ``MEC_RF_summary.csv``."""
    import anndata as ad

    from snakelab.scmedal.mec.aggregate import aggregate_run, is_batch_level, summary_row, write_summary
    from snakelab.scmedal.mec.names import LEAKAGE_CAVEAT

    adata = ad.read_h5ad(tree.adata(), backed="r")
    obs = adata.obs.copy()
    adata.file.close()
    folds = [int(k) for k in cfg["splits"]["folds"]]
    rows = []
    for target in cfg["mec"]["targets"]:
        for features in C.mec_features(cfg):
            run_dir = tree.mec_run(features, target)
            ci = aggregate_run(run_dir, folds)
            rows.append(
                summary_row(
                    ci,
                    target,
                    features,
                    cfg["splits"]["mode"],
                    is_batch_level(obs[target].astype(str).to_numpy(), obs["batch"].astype(str).to_numpy()),
                    len(folds),
                    Path(run_dir).name,
                )
            )
    write_summary(rows, tree.mec_summary())
    log.info(LEAKAGE_CAVEAT)
