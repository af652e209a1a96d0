"""Handlers of the ``snakelab scmedal`` stages (one per rule; see :mod:`snakelab.scmedal.commands`).

Each handler resolves the section (``--spec`` or ``--config``), derives its paths with
:class:`snakelab.scmedal.paths.Tree` and calls the library; heavy imports happen inside.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core.atomic import write_text
from snakelab.core.errors import InputError
from snakelab.scmedal import config as C
from snakelab.scmedal.paths import Tree

log = logging.getLogger("snakelab.scmedal.stages")


def _setup(args: argparse.Namespace) -> tuple[dict[str, Any], Tree]:
    cfg = C.from_args(args.config, args.spec)
    C.dataset(cfg, args.dataset, args.config)
    return cfg, Tree(cfg, args.dataset)


def _check_fold(cfg: Mapping[str, Any], fold: int, source: str | None) -> int:
    if fold not in range(1, int(cfg["splits"]["n_folds"]) + 1):
        raise InputError(source, "--fold", f"expected 1..{cfg['splits']['n_folds']}, found {fold}")
    return fold


def fold_obs(tree: Tree, fold: int) -> dict[str, Any]:
    """{split: obs DataFrame of the fold's rows (in splits.json order)} without reading X."""
    import anndata as ad

    from snakelab.scmedal.splits import fold_indices, read_splits

    idx = fold_indices(read_splits(tree.splits()), fold, tree.splits())
    adata = ad.read_h5ad(tree.adata(), backed="r")
    obs = adata.obs.copy()
    adata.file.close()
    return {s: obs.iloc[idx[s]] for s in C.SPLITS}


def load_latent(path: str, n_rows: int, fold: int, split: str) -> np.ndarray:
    """The latent [n_rows, d] at ``path`` (a train/pca output or an external latent), checked."""
    if not Path(path).is_file():
        raise InputError(path, "latent", f"expected the latent .npy of fold {fold}, split {split}")
    try:
        latent = np.load(path)
    except (OSError, ValueError) as exc:
        raise InputError(path, "latent", f"expected a .npy array ({exc})") from None
    if latent.ndim != 2:
        raise InputError(path, "shape", f"expected a 2-D array [cells, dims], found shape {latent.shape}")
    if latent.shape[0] != n_rows:
        expected = f"expected {n_rows} (the {split} cells of fold {fold} in splits.json)"
        raise InputError(path, "rows", f"{expected}, found {latent.shape[0]}")
    return latent


# ---------------------------------------------------------------- data
def demo_data(args: argparse.Namespace) -> None:
    from snakelab.scmedal.demo import write_demo

    write_demo(args.output, args.seed)


def synth(args: argparse.Namespace) -> None:
    from snakelab.scmedal.synth import write_synthetic

    write_synthetic(
        args.output,
        n_cells=args.n_cells,
        n_genes=args.n_genes,
        n_batches=args.n_batches,
        n_celltypes=args.n_celltypes,
        seed=args.seed,
    )


def preprocess(args: argparse.Namespace) -> None:
    from snakelab.scmedal import preprocess as P

    cfg, tree = _setup(args)
    ds = C.dataset(cfg, args.dataset)
    P.run(ds["input"], ds, cfg["preprocess"], tree.adata(), tree.preprocess_json())


def splits(args: argparse.Namespace) -> None:
    from snakelab.scmedal import splits as S

    cfg, tree = _setup(args)
    S.run(tree.adata(), cfg["splits"], C.dataset(cfg, args.dataset)["targets"], tree.splits())


# ---------------------------------------------------------------- models
def train(args: argparse.Namespace) -> None:
    from snakelab.scmedal.runtime import quiet_tensorflow

    quiet_tensorflow()
    from snakelab.scmedal.lineage import record
    from snakelab.scmedal.train import train_job

    cfg, tree = _setup(args)
    C.check_model(args.model, args.config)
    fold = _check_fold(cfg, args.fold, args.config)
    info = train_job(cfg, args.dataset, args.model, fold)
    artifacts = {f"latent_{s}": tree.latent(args.model, fold, s) for s in C.SPLITS}
    artifacts["training"] = tree.training_json(args.model, fold)
    record(
        args.store,
        tree,
        "train",
        f"{args.model}_{info['run_name']}_splits_{fold}",
        C.run_key(cfg, args.dataset, args.model),
        {"model": args.model, "fold": fold, "run_name": info["run_name"]},
        {
            "best_epoch": info["best_epoch"],
            "val_monitored": info["best_monitored"],
            "epochs_run": info["epochs_run"],
            "s_per_epoch": info["s_per_epoch"],
        },
        artifacts,
        seed=int(cfg["seed"]),
    )


def pca(args: argparse.Namespace) -> None:
    from snakelab.scmedal.data import load_fold
    from snakelab.scmedal.pca import pca_latents
    from snakelab.scmedal.train import save_npy

    cfg, tree = _setup(args)
    fold = _check_fold(cfg, args.fold, args.config)
    data = load_fold(
        tree.adata(),
        tree.splits(),
        fold,
        cfg["faithful"]["scaling_per_split"],
        cfg["training"]["max_dense_gb"],
    )
    for split, latent in pca_latents(data, int(cfg["scores"]["pca_components"]), int(cfg["seed"])).items():
        save_npy(tree.latent("pca", fold, split), latent)


# ---------------------------------------------------------------- scores
def scores(args: argparse.Namespace) -> None:
    import pandas as pd

    from snakelab.scmedal import plots
    from snakelab.scmedal.aggregate import loss_columns
    from snakelab.scmedal.scores import FLAG, LABELS, NOT_MEANINGFUL, meaningful, score_table, subsample
    from snakelab.scmedal.train import write_csv

    cfg, tree = _setup(args)
    model = C.latent_source(cfg, args.model, args.config)
    fold = _check_fold(cfg, args.fold, args.config)
    obs = fold_obs(tree, fold)
    sc = cfg["scores"]
    metrics: dict[str, float] = {}
    flags: dict[str, bool] = {}
    latents = {s: load_latent(tree.latent(model, fold, s), len(obs[s]), fold, s) for s in sc["splits"]}
    for split, latent in latents.items():
        name = tree.latent_name(model, split)
        labels = {lab: obs[split][lab].astype(str).to_numpy() for lab in LABELS}
        idx = subsample(latent.shape[0], int(sc["sample_size"]), int(sc["seed"]), fold, split)
        ok = {lab: meaningful(model, split, lab, cfg["splits"]["mode"]) for lab in LABELS}
        table = score_table({name: latent}, labels, idx, ok)
        write_csv(table, tree.scores(model, fold, split))
        for (label, metric), value in table.iloc[0].items():
            if metric != FLAG:
                metrics[f"{split}_{label}_{metric}"] = value
        flags |= {f"{split}_{lab}": good for lab, good in ok.items()}
        for lab in ("celltype", "batch"):
            plots.scatter(
                latent[:, :2],
                labels[lab],
                f"{name} (fold {fold})",
                tree.latent_png(model, fold, split, lab),
                "dim 1",
                "dim 2",
                lab,
            )
    if model in C.MODELS:
        history = pd.read_csv(tree.history(model, fold))
        plots.loss_curves(history, loss_columns(history), f"{model} fold {fold}", tree.loss_png(model, fold))
    from snakelab.scmedal.lineage import record

    record(
        args.store,
        tree,
        "scores",
        f"{model}_{tree.run_name(model)}_splits_{fold}",
        C.run_key(cfg, args.dataset, model),
        {"model": model, "fold": fold, "run_name": tree.run_name(model), "scores": sc, "meaningful": flags},
        metrics,
        {f"scores_{s}": tree.scores(model, fold, s) for s in sc["splits"]},
        seed=int(sc["seed"]),
    )
    for key, good in flags.items():
        if not good:
            log.warning("%s scores flagged not meaningful: %s", key, NOT_MEANINGFUL)


def aggregate(args: argparse.Namespace) -> None:
    from snakelab.scmedal import aggregate as A
    from snakelab.scmedal import plots
    from snakelab.scmedal.train import write_csv

    cfg, tree = _setup(args)
    model = C.latent_source(cfg, args.model, args.config)
    folds = [int(k) for k in cfg["splits"]["folds"]]
    for split in cfg["scores"]["splits"]:
        stacked = A.all_scores({k: tree.scores(model, k, split) for k in folds})
        write_csv(stacked, tree.all_scores(model, split))
        write_csv(A.mean_scores(stacked), tree.mean_scores(model, split))
    if model in C.MODELS:
        stacked, mean = A.histories({k: tree.history(model, k) for k in folds})
        write_csv(stacked, tree.history_allfolds(model), index=False)
        write_csv(mean, tree.mean_history_allfolds(model), index=False)
        band = stacked.groupby("epoch").std(numeric_only=True).reindex(mean["epoch"]).reset_index(drop=True)
        plots.loss_curves(
            mean, A.loss_columns(mean), f"{model}: mean over folds (± SD)", tree.avg_loss_png(model), band
        )


def compare(args: argparse.Namespace) -> None:
    import pandas as pd

    from snakelab.scmedal import plots
    from snakelab.scmedal.compare import compare_tables
    from snakelab.scmedal.train import write_csv

    cfg, tree = _setup(args)
    split = cfg["compare"]["split"]
    frames = {}
    for model in C.compared_models(cfg):
        path = tree.all_scores(model, split)
        frames["X_pca" if model == "pca" else model] = pd.read_csv(path, header=[0, 1], index_col=[0, 1])
    tables = compare_tables(frames)
    for key in ("allscores", "means", "ci", "min", "max"):
        write_csv(tables[key], tree.compare_file(split, key))
    plots.compare_chart(
        tables["ci"],
        tree.compare_file(split, "png"),
        f"{args.dataset}: {split} split, mean over folds, 95% CI",
    )


# ---------------------------------------------------------------- counterfactuals, UMAP
def counterfactual_subset(
    cfg: Mapping[str, Any], fold: int, subset: int | None, map_index: int | None
) -> dict[str, Any]:
    """The subset spec of a counterfactual request (``counterfactuals.subsets[i]`` or ``genomap.maps[i]``)."""
    if map_index is not None:
        maps = cfg["genomap"]["maps"]
        if not 0 <= map_index < len(maps):
            raise InputError(None, "--map", f"expected 0..{len(maps) - 1}")
        m = maps[map_index]
        return {
            "split": m["split"],
            "fold": fold,
            "celltypes": m.get("celltypes"),
            "forced_batches": m.get("forced_batches"),
            "n_cells": int(m["n_cells"]),
            "seed": int(cfg["genomap"]["seed"]),
            "target_batches": None,
        }
    subsets = cfg["counterfactuals"]["subsets"]
    if subset is None or not 0 <= subset < len(subsets):
        raise InputError(
            None, "--subset", f"expected 0..{len(subsets) - 1} (counterfactuals.subsets) or --map"
        )
    spec = {
        "split": "test",
        "celltypes": None,
        "forced_batches": None,
        "n_cells": 300,
        "seed": 0,
        "target_batches": None,
        "obs_names": None,
    }
    spec.update(subsets[subset])
    spec["fold"] = fold
    return spec


def counterfactuals(args: argparse.Namespace) -> None:
    from snakelab.scmedal.counterfactuals_stage import run_counterfactuals
    from snakelab.scmedal.runtime import quiet_tensorflow

    quiet_tensorflow()

    cfg, tree = _setup(args)
    fold = _check_fold(cfg, args.fold, args.config)
    spec = counterfactual_subset(cfg, fold, args.subset, args.map)
    run_counterfactuals(cfg, tree, args.dataset, fold, spec)


def umap(args: argparse.Namespace) -> None:
    from snakelab.scmedal.umap_stage import run_umap

    cfg, tree = _setup(args)
    fold = _check_fold(cfg, args.fold, args.config)
    source = C.latent_source(cfg, args.model, args.config)
    model = "X_pca" if source == "pca" else source
    run_umap(cfg, tree, model, args.split, fold)


# ---------------------------------------------------------------- genomap, MEC (library: genomap/, mec/)
def genomap(args: argparse.Namespace) -> None:
    from snakelab.scmedal.genomap_stage import run_genomap

    cfg, tree = _setup(args)
    run_genomap(cfg, tree, args.dataset, args.map)


def genomap_stats(args: argparse.Namespace) -> None:
    from snakelab.scmedal.genomap_stage import run_genomap_stats

    cfg, tree = _setup(args)
    run_genomap_stats(cfg, tree, args.dataset)


def mec(args: argparse.Namespace) -> None:
    from snakelab.scmedal.lineage import record
    from snakelab.scmedal.mec_stage import run_mec

    cfg, tree = _setup(args)
    fold = _check_fold(cfg, args.fold, args.config)
    frame = run_mec(cfg, tree, args.dataset, args.features, args.target, fold)
    name = Path(tree.mec_run(args.features, args.target)).name
    metrics = {f"{split}_{col}": frame.loc[split, col] for split in frame.index for col in frame.columns}
    record(
        args.store,
        tree,
        "mec",
        f"{name}_splits_{fold}",
        {"mec": cfg["mec"], "run": name},
        {"features": args.features, "target": args.target, "fold": fold},
        metrics,
        {"metrics": tree.mec_metrics(args.features, args.target, fold)},
        seed=int(cfg["mec"]["rf_seed"]),
    )


def mec_aggregate(args: argparse.Namespace) -> None:
    from snakelab.scmedal.mec_stage import run_mec_aggregate

    cfg, tree = _setup(args)
    run_mec_aggregate(cfg, tree, args.dataset)


def write_json(path: str, doc: Mapping[str, Any]) -> None:
    """Pretty JSON, atomically."""
    write_text(path, json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n")
