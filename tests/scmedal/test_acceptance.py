"""Spec §14 workflow acceptance on the full demo (5 folds, every model; about 10 minutes on 2 idle cores):
batch mixing and cell-type separation against the PCA baseline, counterfactuals against the planted batch
effect, MEC against chance, early stopping; and the held-out-batches mode end to end.

These run the whole demo, beyond the test budget of one pipeline (4 minutes), so they run when
SNAKELAB_SCMEDAL_ACCEPTANCE=1, or on a finished demo tree named by SNAKELAB_SCMEDAL_DEMO_DIR (the working
directory of a `make demo` / `snakemake --configfile config/examples/scmedal_demo.yaml` run).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from snakelab.scmedal.demo_figures import demo_figures

DEMO = "config/examples/scmedal_demo.yaml"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    from tests.harness import Workflow

    done = os.environ.get("SNAKELAB_SCMEDAL_DEMO_DIR")
    if done:
        workdir = Path(done)
    else:
        wf = Workflow(tmp_path_factory.mktemp("scmedal_demo"))
        wf.write_config(None, base=DEMO)
        wf.run(timeout=3600)
        workdir = wf.workdir
    root = workdir / "results" / "scmedal" / "demo_outputs"
    return demo_figures(root, workdir / "resources" / "scmedal" / "pbmc68k_pseudobatch.h5ad")


pytestmark = [
    pytest.mark.workflow,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (os.environ.get("SNAKELAB_SCMEDAL_ACCEPTANCE") or os.environ.get("SNAKELAB_SCMEDAL_DEMO_DIR")),
        reason="the full demo takes ~10 min: set SNAKELAB_SCMEDAL_ACCEPTANCE=1 or SNAKELAB_SCMEDAL_DEMO_DIR",
    ),
]


def test_re_separates_batches(demo_run) -> None:
    asw = demo_run["asw_test"]
    assert asw["scmedalre"]["batch"][0] >= max(0.30, asw["X_pca"]["batch"][0] + 0.20)


def test_fe_mixes_batches_and_keeps_cell_types(demo_run) -> None:
    asw = demo_run["asw_test"]
    assert asw["scmedalfe"]["batch"][0] <= asw["X_pca"]["batch"][0] + 0.02
    assert asw["scmedalfe"]["celltype"][0] >= asw["X_pca"]["celltype"][0] - 0.05


def test_counterfactuals_follow_the_planted_effect(demo_run) -> None:
    """Met with the demo's RE settings (``architecture.re.output_norm_init: data``,
    ``post_loc_init_scale: 0``, RE cls 1.0): r = 0.61-0.73 over the 5 folds. With the spec's Keras-default
    output BatchNorm r was -0.10 to -0.18 at every training setting tried (the output tables learn the batch
    offsets with the opposite sign while the too-wide initial output shrinks)."""
    assert min(demo_run["cf_r"]) >= 0.5


@pytest.mark.xfail(
    reason="measured null r = -0.241, -0.175, -0.248, -0.258, -0.172 (folds 1-5) at r = 0.61-0.73: with 4 "
    "centred batches a cyclic derangement of the truth's batch labels correlates about -r/3 with a good "
    "counterfactual (the perfect one, T_b(clean), scores r 1.00 and null -0.34 on the demo), so this bar "
    "and r >= 0.5 cannot both hold; it passed before only because r was about 0",
    strict=True,
)
def test_counterfactual_null_is_uncorrelated(demo_run) -> None:
    assert max(abs(r) for r in demo_run["cf_r_deranged"]) < 0.1


def test_mec_beats_chance(demo_run) -> None:
    rows = {(r["target"], r["features"]): r for r in demo_run["mec"]}
    group = rows[("group", "scmedalfe+scmedalre")]
    celltype = rows[("celltype", "scmedalfe+scmedalre")]
    assert group["RFBalancedAccuracy_mean"] >= group["ChanceBalancedAccuracy_mean"] + 0.25
    assert celltype["RFBalancedAccuracy_mean"] >= celltype["ChanceBalancedAccuracy_mean"] + 0.30
    assert bool(group["batch_level_target"]) and not bool(celltype["batch_level_target"])


def test_early_stopping_works(demo_run) -> None:
    epochs, patience = 100, 20
    assert len(demo_run["early_stopping"]) == 15
    for row in demo_run["early_stopping"]:
        assert row["epochs_run"] == min(epochs, row["best_epoch"] + patience), row
        assert row["restored_val_total_loss"] == pytest.approx(row["best_val_total_loss"], rel=1e-6, abs=1e-9)


@pytest.mark.skipif(
    not os.environ.get("SNAKELAB_SCMEDAL_ACCEPTANCE"), reason="set SNAKELAB_SCMEDAL_ACCEPTANCE=1"
)
def test_batches_mode_end_to_end(workflow) -> None:
    overrides = {
        "scmedal": {
            "splits": {"mode": "batches", "n_folds": 4, "folds": [1, 2, 3, 4]},
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
    ci = pd.read_csv(next(Path(run.workdir).rglob("test_scores_*_95CI.csv")), header=[0, 1, 2], index_col=0)
    assert ci[("batch", "meaningful", "all_folds")].to_dict() == {"scmedalre": False, "X_pca": True}
    summary = next(Path(run.workdir).rglob("MEC_RF_summary.csv"))
    assert pd.read_csv(summary)["split_mode"].tolist() == ["batches"]
