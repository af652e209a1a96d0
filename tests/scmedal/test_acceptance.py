"""Spec §14 workflow tests on the full demo (config/examples/scmedal_demo.yaml: 5 folds, every model),
run once per session through Snakemake: the documented tree (spec §7), a no-op rerun, bitwise-identical
retraining in a clean directory and seed sensitivity; batch mixing and cell-type separation against the
PCA baseline, counterfactuals against the planted batch effect, MEC against chance, early stopping; and
the held-out-batches mode end to end.

The run adds two things to the demo that leave its models, latents and scores unchanged (neither is
in a run name): ``counterfactuals.all_cells`` (the reference's per-batch reconstructions of every cell)
and an external latent ``ext`` (the run's own PCA files, named by pattern; spec §6), which is scored,
compared and UMAP-ed like a model's latent.

SNAKELAB_SCMEDAL_DEMO_DIR=<dir> re-checks a finished demo tree instead (the working directory of a
``snakemake --configfile config/examples/scmedal_demo.yaml`` run); the checks of the two additions are
skipped on a tree without them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from snakelab.scmedal import config as C
from snakelab.scmedal.demo_figures import demo_figures
from snakelab.scmedal.paths import Tree
from tests.harness import BIN, REPO, Workflow, tool_env

DEMO = "config/examples/scmedal_demo.yaml"
MODELS = ["ae", "aec", "aec_batch", "scmedalfe", "scmedalfec", "scmedalre"]
FOLDS = [1, 2, 3, 4, 5]
SCENARIO = "log_transformed_allhvggenes"

pytestmark = [pytest.mark.workflow, pytest.mark.slow]


def _with_additions(workdir: Path) -> None:
    """``config/config.yaml`` of ``workdir``: the demo plus ``counterfactuals.all_cells`` and ``ext``."""
    wf = Workflow(workdir)
    config_file = wf.write_config({"scmedal": {"counterfactuals": {"all_cells": True}}}, base=DEMO)
    cfg = yaml.safe_load(config_file.read_text())
    pca_run = Tree(C.section(cfg), "demo").latent_run("pca")
    cfg["scmedal"]["compare"] = {
        "external_latents": {"ext": f"{pca_run}/splits_{{fold}}/X_pca_{{split}}.npy"}
    }
    config_file.write_text(yaml.safe_dump(cfg, sort_keys=False))


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, Any]:
    """The demo's working directory, output root, run directories per model and acceptance figures."""
    done = os.environ.get("SNAKELAB_SCMEDAL_DEMO_DIR")
    if done:
        workdir = Path(done).resolve()
    else:
        workdir = tmp_path_factory.mktemp("scmedal_demo")
        _with_additions(workdir)
        Workflow(workdir).run(timeout=3600)
    root = workdir / "results" / "scmedal" / "demo_outputs"
    runs = {p.parent.name: p for p in (root / "latent_space" / SCENARIO).glob("*/run_crossval_*")}
    figures = demo_figures(root, workdir / "resources" / "scmedal" / "pbmc68k_pseudobatch.h5ad")
    return {"workdir": workdir, "root": root, "runs": runs, "figures": figures}


def _needs(demo: dict[str, Any], run: str) -> Path:
    if run not in demo["runs"]:
        pytest.skip(f"the demo tree at SNAKELAB_SCMEDAL_DEMO_DIR has no {run!r} run")
    return demo["runs"][run]


# ---------------------------------------------------------------- the bars (spec §14, numbers)
def test_re_separates_batches(demo) -> None:
    asw = demo["figures"]["asw_test"]
    assert asw["scmedalre"]["batch"][0] >= max(0.30, asw["X_pca"]["batch"][0] + 0.20)


def test_fe_mixes_batches_and_keeps_cell_types(demo) -> None:
    asw = demo["figures"]["asw_test"]
    assert asw["scmedalfe"]["batch"][0] <= asw["X_pca"]["batch"][0] + 0.02
    assert asw["scmedalfe"]["celltype"][0] >= asw["X_pca"]["celltype"][0] - 0.05


def test_counterfactuals_follow_the_planted_effect(demo) -> None:
    """Met with the demo's RE settings (``architecture.re.output_norm_init: data``,
    ``post_loc_init_scale: 0``, RE cls 1.0): r = 0.61-0.73 over the 5 folds. With the spec's Keras-default
    output BatchNorm r was -0.10 to -0.18 at every training setting tried (the output tables learn the batch
    offsets with the opposite sign while the too-wide initial output shrinks)."""
    assert len(demo["figures"]["cf_r"]) == 5
    assert min(demo["figures"]["cf_r"]) >= 0.5


@pytest.mark.xfail(
    reason="measured null r = -0.241, -0.175, -0.248, -0.258, -0.172 (folds 1-5) at r = 0.61-0.73: with 4 "
    "centred batches a cyclic derangement of the truth's batch labels correlates about -r/3 with a good "
    "counterfactual (the perfect one, T_b(clean), scores r 1.00 and null -0.34 on the demo), so this bar "
    "and r >= 0.5 cannot both hold; it passed before only because r was about 0",
    strict=True,
)
def test_counterfactual_null_is_uncorrelated(demo) -> None:
    assert max(abs(r) for r in demo["figures"]["cf_r_deranged"]) < 0.1


def test_mec_beats_chance(demo) -> None:
    rows = {(r["target"], r["features"]): r for r in demo["figures"]["mec"]}
    group = rows[("group", "scmedalfe+scmedalre")]
    celltype = rows[("celltype", "scmedalfe+scmedalre")]
    assert group["RFBalancedAccuracy_mean"] >= group["ChanceBalancedAccuracy_mean"] + 0.25
    assert celltype["RFBalancedAccuracy_mean"] >= celltype["ChanceBalancedAccuracy_mean"] + 0.30
    assert bool(group["batch_level_target"]) and not bool(celltype["batch_level_target"])


def test_early_stopping_works(demo) -> None:
    epochs, patience = 100, 20
    assert len(demo["figures"]["early_stopping"]) == 15
    for row in demo["figures"]["early_stopping"]:
        assert row["epochs_run"] == min(epochs, row["best_epoch"] + patience), row
        assert row["restored_val_total_loss"] == pytest.approx(row["best_val_total_loss"], rel=1e-6, abs=1e-9)


# ---------------------------------------------------------------- the tree (spec §7)
def test_demo_tree(demo) -> None:
    root, runs = demo["root"], demo["runs"]
    scenario = Path(SCENARIO)
    assert set(runs) >= {*MODELS, "pca"}
    for name in ("adata.h5ad", "splits.json", "preprocess.json"):
        assert (root / "data" / scenario / name).is_file()
    n_genes = 765
    for model in MODELS:
        run = runs[model]
        saved = root / "saved_models" / scenario / model / run.name
        figures = root / "figures" / scenario / model / run.name
        assert (saved / "configs.json").is_file() and (figures / "avg_loss.png").is_file()
        for fold in FOLDS:
            fold_dir = run / f"splits_{fold}"
            for split in ("train", "val", "test"):
                lat = np.load(fold_dir / f"{model}_latent_{split}.npy")
                assert lat.dtype == np.float32 and lat.shape[1] == 50
                assert np.load(fold_dir / f"recon_{split}.npy").shape == (lat.shape[0], n_genes)
                scores = pd.read_csv(
                    fold_dir / f"scores_{split}_samplesize-10000.csv", header=[0, 1], index_col=0
                )
                assert list(scores.index) == [f"{model}_latent_{split}"]
                assert (
                    figures / f"splits_{fold}" / f"{model}_latent_{split}_celltype-celltype_"
                    f"{model}_latent_{split}.png"
                ).is_file()
            assert {"history.csv", "scaler.json"} <= {p.name for p in fold_dir.iterdir()}
            info = json.loads((saved / f"splits_{fold}" / "training.json").read_text())
            assert {
                "checkpoint",
                "cp-0000.ckpt.index",
                f"cp-{info['best_epoch']:04d}.ckpt.index",
                "model_params.yaml",
            } <= {p.name for p in (saved / f"splits_{fold}").iterdir()}
            assert (figures / f"splits_{fold}" / "loss.png").is_file()
        for name in ("history_allfolds.csv", "mean_history_allfolds.csv"):
            assert (run / name).is_file(), name
        for split in ("train", "val", "test"):
            for kind in ("all_scores", "mean_scores"):
                assert (run / f"{kind}_{split}_samplesize-10000.csv").is_file()
    for fold in FOLDS:
        assert (runs["pca"] / f"splits_{fold}" / "X_pca_test.npy").is_file()
    compare = next((root / "compare_models" / scenario).glob("compare_*"))
    ci = pd.read_csv(compare / "test_scores_10000_95CI.csv", header=[0, 1, 2], index_col=0)
    assert list(ci.index)[: len(MODELS) + 1] == [*MODELS, "X_pca"]
    assert (compare / "test_scores_10000.png").is_file()
    for model in [*MODELS, "X_pca"]:
        done = json.loads((compare / "umap_runs" / f"umap_{model}_train_split1.json").read_text())
        assert done["n_cells"] == 420 and all((demo["workdir"] / f).is_file() for f in done["files"])
    gname = json.loads((compare / "genomap_runs" / "map_0.json").read_text())["gname"]
    assert (compare / gname / f"genomap_{gname}.npy").is_file()
    assert (compare / f"CMmultibatch_{gname}" / "exprMatrix.npy").is_file()
    assert (compare / "demo_pvals_mwu.csv").is_file()
    summary = pd.read_csv(root / "latent_space" / scenario / "mec" / "MEC_RF_summary.csv")
    assert sorted(summary["features"]) == ["scmedalfe+scmedalre"] * 2


def test_counterfactuals_reproduce_the_reconstructions(demo) -> None:
    """cf(i, batch_i) is the RE reconstruction of cell i, bitwise; with ``all_cells`` every cell's
    reconstruction into its own batch is that row too."""
    root, re_run = demo["root"], demo["runs"]["scmedalre"]
    splits = json.loads((root / "data" / SCENARIO / "splits.json").read_text())
    for fold in FOLDS:
        fold_dir = re_run / f"splits_{fold}"
        (cf_path,) = (fold_dir / "counterfactuals").glob("cf_test_*.npz")
        cf = np.load(cf_path)
        recon = np.load(fold_dir / "recon_test.npy")
        pos = {r: i for i, r in enumerate(splits["folds"][str(fold)]["test"])}
        own = [list(cf["target_batches"]).index(b) for b in cf["source_batch"]]
        assert cf["recon"].shape == (len(splits["batches"]), 140, recon.shape[1])
        for j, (r, b) in enumerate(zip(cf["obs_index"], own, strict=True)):
            assert np.array_equal(cf["recon"][b, j], recon[pos[int(r)]])
        if not (fold_dir / f"recon_batch_test_{splits['batches'][0]}.npy").is_file():
            pytest.skip(
                "the demo tree at SNAKELAB_SCMEDAL_DEMO_DIR was run without counterfactuals.all_cells"
            )
        for b in splits["batches"]:
            full = np.load(fold_dir / f"recon_batch_test_{b}.npy")
            assert full.shape == recon.shape
            mine = [
                pos[int(r)] for r, src in zip(cf["obs_index"], cf["source_batch"], strict=True) if src == b
            ]
            assert np.array_equal(full[mine], recon[mine])


def test_external_latent_is_scored_and_compared(demo) -> None:
    ext, pca = _needs(demo, "ext"), demo["runs"]["pca"]
    for fold in FOLDS:
        name = f"splits_{fold}/scores_test_samplesize-10000.csv"
        ext_scores = pd.read_csv(ext / name, header=[0, 1], index_col=0)
        assert list(ext_scores.index) == ["ext_latent_test"]
        pca_scores = pd.read_csv(pca / name, header=[0, 1], index_col=0)
        assert np.array_equal(ext_scores.to_numpy(), pca_scores.to_numpy())  # same latent, same subsample
    assert (ext / "mean_scores_test_samplesize-10000.csv").is_file()
    compare = next((demo["root"] / "compare_models" / SCENARIO).glob("compare_*"))
    done = json.loads((compare / "umap_runs" / "umap_ext_train_split1.json").read_text())
    table = pd.read_csv(demo["workdir"] / done["files"][0], index_col=0)
    assert done["files"][0].endswith("umap_ext_latent_train_split1_420cells_4batches.csv")
    assert table.shape[0] == 420 and np.isfinite(table[["UMAP1", "UMAP2"]].to_numpy()).all()
    ci = demo["figures"]["asw_test"]
    assert list(ci) == [*MODELS, "X_pca", "ext"] and ci["ext"] == ci["X_pca"]


# ---------------------------------------------------------------- reruns
def test_second_run_is_a_no_op(demo) -> None:
    if not (demo["workdir"] / "config" / "config.yaml").is_file():
        pytest.skip("the demo tree at SNAKELAB_SCMEDAL_DEMO_DIR has no config/config.yaml")
    rerun = Workflow(demo["workdir"]).run("-n", timeout=300)
    assert "Nothing to be done" in rerun.output


def test_retraining_is_bitwise_and_seeded(demo, tmp_path) -> None:
    """One train job (RE, fold 1) rerun in a clean directory gives the same latents; seed 7 others."""
    scenario = Path(SCENARIO)
    data_dir = tmp_path / "results" / "scmedal" / "demo_outputs" / "data" / scenario
    shutil.copytree(demo["root"] / "data" / scenario, data_dir)
    cfg = yaml.safe_load((REPO / DEMO).read_text())
    procs = []
    for seed in (42, 7):
        cfg["scmedal"]["seed"] = seed
        (tmp_path / f"cfg{seed}.yaml").write_text(yaml.safe_dump(cfg))
        cmd = [str(BIN / "snakelab"), "scmedal", "train", "--config", f"cfg{seed}.yaml", "--dataset", "demo"]
        procs.append(
            subprocess.Popen(
                [*cmd, "--model", "scmedalre", "--fold", "1"],
                cwd=tmp_path,
                env=tool_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    original_run = demo["runs"]["scmedalre"]
    runs = sorted((tmp_path / "results/scmedal/demo_outputs/latent_space" / scenario / "scmedalre").iterdir())
    latents = {r.name: np.load(r / "splits_1" / "scmedalre_latent_test.npy") for r in runs}
    original = np.load(original_run / "splits_1" / "scmedalre_latent_test.npy")
    assert np.array_equal(latents.pop(original_run.name), original)
    assert len(latents) == 1 and not np.allclose(next(iter(latents.values())), original)


# ---------------------------------------------------------------- held-out batches (spec §3, §6)
def test_batches_mode_end_to_end(workflow) -> None:
    """Four held-out-batch folds, two of them run (``splits.folds``: a subset of the folds, scored,
    compared and MEC-aggregated over those)."""
    overrides = {
        "scmedal": {
            "splits": {"mode": "batches", "n_folds": 4, "folds": [1, 2]},
            "models": ["scmedalre"],
            "training": {"epochs": 3, "batch_size": 128},
            "counterfactuals": {"subsets": []},
            "umap": {"runs": []},
            "genomap": {"maps": []},
            "mec": {"targets": ["group"], "fe_latents": ["X_pca"], "with_re": [True], "n_estimators": 10},
        }
    }
    wf = workflow(overrides, base=DEMO)
    run = wf.run(timeout=1800)
    logs = "\n".join(p.read_text() for p in Path(wf.workdir, "logs").rglob("scores_*.log"))
    assert "not meaningful" in logs
    for path in Path(run.workdir).rglob("scmedalre/*/splits_*/scores_*_samplesize-*.csv"):
        flags = pd.read_csv(path, header=[0, 1], index_col=0).iloc[0]
        test = path.name.startswith("scores_test_")
        assert (bool(flags[("batch", "meaningful")]), bool(flags[("celltype", "meaningful")])) == (
            not test,
            True,
        )
    assert {p.name for p in Path(run.workdir).rglob("scmedalre/*/splits_*")} == {"splits_1", "splits_2"}
    splits = json.loads(next(Path(run.workdir).rglob("splits.json")).read_text())
    assert sorted(splits["folds"]) == ["1", "2", "3", "4"]
    ci = pd.read_csv(next(Path(run.workdir).rglob("test_scores_*_95CI.csv")), header=[0, 1, 2], index_col=0)
    assert ci[("batch", "meaningful", "all_folds")].to_dict() == {"scmedalre": False, "X_pca": True}
    summary = next(Path(run.workdir).rglob("MEC_RF_summary.csv"))
    assert pd.read_csv(summary)["split_mode"].tolist() == ["batches"]
