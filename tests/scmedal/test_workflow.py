"""scmedal as Snakemake rules on a tiny configuration of the demo (one fold, few epochs): the documented
tree (spec §7), an external latent scored and compared (spec §6), a no-op rerun, bitwise-identical
retraining in a clean directory, seed sensitivity."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from snakelab.scmedal import config as C
from snakelab.scmedal.paths import Tree
from tests.harness import BIN, tool_env

TINY = {
    "pipelines": ["scmedal"],
    "scmedal": {
        "models": ["ae", "scmedalfe", "scmedalre"],
        "splits": {"folds": [1]},
        "training": {"epochs": 3, "early_stopping": {"patience": 2}, "batch_size": 128, "threads": 1},
        "scores": {"splits": ["test"]},
        "counterfactuals": {"all_cells": True, "subsets": [{"split": "test", "n_cells": 30, "seed": 0}]},
        "umap": {"runs": []},
        "genomap": {
            "num_iter": 5,
            "maps": [{"split": "train", "fold": 1, "celltypes": ["Dendritic"], "n_cells": 12}],
        },
        "mec": {"targets": ["group"], "fe_latents": ["scmedalfe"], "with_re": [True], "n_estimators": 20},
    },
}


def _tree(workdir: Path) -> dict[str, Path]:
    root = workdir / "results" / "scmedal" / "demo_outputs"
    scenario = "log_transformed_allhvggenes"
    runs = {p.parent.name: p for p in (root / "latent_space" / scenario).glob("*/run_crossval_*")}
    return {"root": root, "scenario": Path(scenario), **runs}


@pytest.mark.workflow
def test_tiny_demo_workflow(workflow) -> None:
    wf = workflow(TINY, base="config/examples/scmedal_demo.yaml")
    # an external latent: the run's own PCA files, named by pattern (PCA's run name ignores compare.*)
    config_file = wf.workdir / "config" / "config.yaml"
    cfg = yaml.safe_load(config_file.read_text())
    pca_run = Tree(C.section(cfg), "demo").latent_run("pca")
    cfg["scmedal"]["compare"] = {
        "external_latents": {"ext": f"{pca_run}/splits_{{fold}}/X_pca_{{split}}.npy"}
    }
    config_file.write_text(yaml.safe_dump(cfg))
    wf.run(timeout=900)
    tree = _tree(wf.workdir)
    root, scenario = tree["root"], tree["scenario"]
    assert set(tree) >= {"ae", "scmedalfe", "scmedalre", "pca"}
    for name in ("adata.h5ad", "splits.json", "preprocess.json"):
        assert (root / "data" / scenario / name).is_file()
    for model in ("ae", "scmedalfe", "scmedalre"):
        run = tree[model]
        fold = run / "splits_1"
        for split in ("train", "val", "test"):
            lat = np.load(fold / f"{model}_latent_{split}.npy")
            assert lat.dtype == np.float32 and lat.shape[1] == 50
            assert np.load(fold / f"recon_{split}.npy").shape[1] == 765
        assert {"history.csv", "scaler.json", "scores_test_samplesize-10000.csv"} <= {
            p.name for p in fold.iterdir()
        }
        for name in (
            "all_scores_test_samplesize-10000.csv",
            "mean_scores_test_samplesize-10000.csv",
            "history_allfolds.csv",
            "mean_history_allfolds.csv",
        ):
            assert (run / name).is_file(), name
        saved = root / "saved_models" / scenario / model / run.name
        info = json.loads((saved / "splits_1" / "training.json").read_text())
        names = {p.name for p in (saved / "splits_1").iterdir()}
        assert {
            "checkpoint",
            "cp-0000.ckpt.index",
            f"cp-{info['best_epoch']:04d}.ckpt.index",
            "model_params.yaml",
        } <= names
        assert (saved / "configs.json").is_file()
        figures = root / "figures" / scenario / model / run.name
        assert (figures / "avg_loss.png").is_file() and (figures / "splits_1" / "loss.png").is_file()
        assert (
            figures / "splits_1" / f"{model}_latent_test_celltype-celltype_{model}_latent_test.png"
        ).is_file()
        scores = pd.read_csv(fold / "scores_test_samplesize-10000.csv", header=[0, 1], index_col=0)
        assert list(scores.index) == [f"{model}_latent_test"]
    assert (tree["pca"] / "splits_1" / "X_pca_test.npy").is_file()
    ext = pd.read_csv(
        tree["ext"] / "splits_1" / "scores_test_samplesize-10000.csv", header=[0, 1], index_col=0
    )
    pca = pd.read_csv(
        tree["pca"] / "splits_1" / "scores_test_samplesize-10000.csv", header=[0, 1], index_col=0
    )
    assert list(ext.index) == ["ext_latent_test"]
    assert np.array_equal(ext.to_numpy(), pca.to_numpy())  # same latent, same subsample
    assert (tree["ext"] / "mean_scores_test_samplesize-10000.csv").is_file()
    compare = next((root / "compare_models" / scenario).glob("compare_*"))
    ci = pd.read_csv(compare / "test_scores_10000_95CI.csv", header=[0, 1, 2], index_col=0)
    assert list(ci.index) == ["ae", "scmedalfe", "scmedalre", "X_pca", "ext"]
    assert (compare / "test_scores_10000.png").is_file()
    gname = json.loads((compare / "genomap_runs" / "map_0.json").read_text())["gname"]
    assert (compare / gname / f"genomap_{gname}.npy").is_file()
    assert (compare / f"CMmultibatch_{gname}" / "exprMatrix.npy").is_file()
    assert (compare / "demo_pvals_mwu.csv").is_file()
    cf = np.load(next((tree["scmedalre"] / "splits_1" / "counterfactuals").glob("cf_test_*.npz")))
    recon = np.load(tree["scmedalre"] / "splits_1" / "recon_test.npy")
    splits = json.loads((root / "data" / scenario / "splits.json").read_text())
    pos = {r: i for i, r in enumerate(splits["folds"]["1"]["test"])}
    own = [list(cf["target_batches"]).index(b) for b in cf["source_batch"]]
    for j, (r, b) in enumerate(zip(cf["obs_index"], own, strict=True)):
        assert np.array_equal(cf["recon"][b, j], recon[pos[int(r)]])
    for b in splits["batches"]:
        full = np.load(tree["scmedalre"] / "splits_1" / f"recon_batch_test_{b}.npy")
        assert full.shape == recon.shape
        mine = [pos[int(r)] for r, src in zip(cf["obs_index"], cf["source_batch"], strict=True) if src == b]
        assert np.array_equal(full[mine], recon[mine])
    summary = pd.read_csv(root / "latent_space" / scenario / "mec" / "MEC_RF_summary.csv")
    assert list(summary["features"]) == ["scmedalfe+scmedalre"] and bool(summary["batch_level_target"][0])

    rerun = wf.run("-n", timeout=300)
    assert "Nothing to be done" in rerun.output

    # retraining one job in a clean directory gives identical latents; another seed gives others
    clean = wf.workdir.parent / "clean"
    data_dir = clean / "results" / "scmedal" / "demo_outputs" / "data" / scenario
    shutil.copytree(root / "data" / scenario, data_dir)
    cfg = yaml.safe_load((wf.workdir / "config" / "config.yaml").read_text())
    for seed in (42, 7):
        cfg["scmedal"]["seed"] = seed
        (clean / f"cfg{seed}.yaml").write_text(yaml.safe_dump(cfg))
        proc = subprocess.run(
            [
                str(BIN / "snakelab"),
                "scmedal",
                "train",
                "--config",
                f"cfg{seed}.yaml",
                "--dataset",
                "demo",
                "--model",
                "scmedalre",
                "--fold",
                "1",
            ],
            cwd=clean,
            env=tool_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr
    original = np.load(tree["scmedalre"] / "splits_1" / "scmedalre_latent_test.npy")
    again = _tree(clean)
    runs = sorted((clean / "results/scmedal/demo_outputs/latent_space" / scenario / "scmedalre").iterdir())
    latents = {r.name: np.load(r / "splits_1" / "scmedalre_latent_test.npy") for r in runs}
    assert np.array_equal(latents.pop(tree["scmedalre"].name), original)
    assert again and len(latents) == 1 and not np.allclose(next(iter(latents.values())), original)
