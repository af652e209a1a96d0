"""Argument definitions of the ``snakelab scmedal <stage>`` commands (spec §12).

Imports only ``argparse``; each handler imports :mod:`snakelab.scmedal.stages` when it runs (which
imports TensorFlow, scanpy, umap or POT only inside the stage that needs them). Every stage names its
section with ``--config <yaml>`` (by hand) or ``--spec JSON`` (the resolved section the rules pass)
plus ``--dataset NAME`` and derives every path from them exactly as the rules do (spec §7).

========================  =================  ==========================================
rule                      stage              writes
========================  =================  ==========================================
scmedal_demo_data         demo-data          resources/scmedal/pbmc68k_pseudobatch.h5ad
(by hand)                 synth              a synthetic counts .h5ad
scmedal_preprocess        preprocess         data/<scenario>/adata.h5ad, preprocess.json
scmedal_splits            splits             data/<scenario>/splits.json
scmedal_train             train              latents, recon, history, checkpoints
scmedal_pca               pca                pca/<run>/splits_<k>/X_pca_<s>.npy
scmedal_scores            scores             scores_<s>_samplesize-<n>.csv, latent plots
scmedal_aggregate         aggregate          all/mean scores, histories, avg_loss.png
scmedal_compare_scores    compare            compare_models/<scenario>/<analysis>/...
scmedal_counterfactuals   counterfactuals    counterfactuals/cf_<s>_<subset_id>.npz
scmedal_umap              umap               umap_<nb>batches/umap_...
scmedal_genomap           genomap            CMmultibatch_<gname>/, <gname>/
scmedal_genomap_stats     genomap-stats      <dataset>_pvals_<test>.csv
scmedal_mec               mec                mec/<run>/splits_<k>/metrics.csv, y_pred
scmedal_mec_aggregate     mec-aggregate      metrics_allfolds*.csv, MEC_RF_summary.csv
========================  =================  ==========================================
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable


def _handler(name: str) -> Callable[[argparse.Namespace], None]:
    def handle(args: argparse.Namespace) -> None:
        module = importlib.import_module("snakelab.scmedal.stages")
        getattr(module, name.replace("-", "_"))(args)

    return handle


def _section(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("section")
    group.add_argument("--config", metavar="YAML", help="a config file holding the scmedal section")
    group.add_argument("--spec", metavar="JSON", help="the resolved scmedal section (overrides --config)")
    group.add_argument(
        "--dataset", required=True, metavar="NAME", help="the dataset (scmedal.datasets.<name>)"
    )
    group.add_argument(
        "--store", metavar="URL", help="metastore URL (default SNAKELAB_STORE_URL; none: no lineage)"
    )


def register(parser: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    """Add the scmedal stages to ``snakelab scmedal``."""
    stages = parser.add_subparsers(dest="stage", metavar="STAGE", required=True)

    def stage(name: str, help_text: str, section: bool = True) -> argparse.ArgumentParser:
        sub = stages.add_parser(name, parents=[common], help=help_text, description=help_text)
        if section:
            _section(sub)
        sub.set_defaults(handler=_handler(name))
        return sub

    sub = stage(
        "demo-data", "pbmc68k_reduced with 4 pseudo-batches and a planted batch effect", section=False
    )
    sub.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    sub.add_argument("--output", required=True, metavar="H5AD", help="the demo .h5ad to write")

    sub = stage("synth", "synthetic Poisson counts with cell-type programmes and batch shifts", section=False)
    sub.add_argument("--n-cells", type=int, required=True)
    sub.add_argument("--n-genes", type=int, required=True)
    sub.add_argument("--n-batches", type=int, required=True)
    sub.add_argument("--n-celltypes", type=int, required=True)
    sub.add_argument("--seed", type=int, default=0)
    sub.add_argument("--output", required=True, metavar="H5AD")

    stage("preprocess", "filter, normalise, log1p, highly variable genes -> adata.h5ad")
    stage("splits", "cross-validation folds -> splits.json")

    sub = stage("train", "train one model on one fold")
    sub.add_argument(
        "--model", required=True, help="ae | aec | aec_batch | scmedalfe | scmedalfec | scmedalre"
    )
    sub.add_argument("--fold", required=True, type=int)

    sub = stage("pca", "PCA baseline of one fold (fit on train)")
    sub.add_argument("--fold", required=True, type=int)

    sub = stage("scores", "ASW, 1/DB, CH for batch and cell type of one model x fold, and latent plots")
    sub.add_argument("--model", required=True, help="a model or pca")
    sub.add_argument("--fold", required=True, type=int)

    sub = stage("aggregate", "fold scores and histories of one model with 95%% CIs")
    sub.add_argument("--model", required=True, help="a model or pca")

    stage("compare", "compare-models tables and chart")

    sub = stage("counterfactuals", "RE reconstructions of a cell subset into every batch")
    sub.add_argument("--fold", required=True, type=int)
    sub.add_argument("--subset", type=int, help="index in counterfactuals.subsets")
    sub.add_argument("--map", type=int, help="the cells of genomap.maps[MAP] instead")

    sub = stage("umap", "UMAP of one latent")
    sub.add_argument("--model", required=True, help="a model or X_pca")
    sub.add_argument("--split", required=True, choices=["train", "val", "test"])
    sub.add_argument("--fold", required=True, type=int)

    sub = stage("genomap", "genomap of genomap.maps[MAP]")
    sub.add_argument("--map", required=True, type=int)

    stage("genomap-stats", "per-pixel tests between the two groups of genomap.stats")

    sub = stage("mec", "random forest on FE (+RE) latents predicting a target, one fold")
    sub.add_argument("--features", required=True, help="e.g. scmedalfe or scmedalfe+scmedalre")
    sub.add_argument("--target", required=True)
    sub.add_argument("--fold", required=True, type=int)

    stage("mec-aggregate", "MEC fold aggregation with 95%% CIs and MEC_RF_summary.csv")
