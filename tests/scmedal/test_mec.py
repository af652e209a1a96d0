"""MEC (spec §9): random forest vs stratified chance on planted latents; fold files and aggregation."""

import numpy as np
import pandas as pd
import pytest

from snakelab.core.errors import InputError
from snakelab.scmedal.mec.aggregate import (
    SUMMARY_COLUMNS,
    aggregate_folds,
    aggregate_run,
    is_batch_level,
    read_ci,
    summary_row,
    write_summary,
)
from snakelab.scmedal.mec.classify import METRICS, SPLITS, concat_features, run_mec_fold
from snakelab.scmedal.mec.names import LEAKAGE_CAVEAT, features_name, mec_run_name


def planted(seed: int, n: int = 600):
    """4 batches; group = A for batches 0-1, B for 2-3 (batch-level); 3 cell types independent of batch.

    FE latent: cell type in dims 0-1 (separable), no batch signal; RE latent: batch means (separable batches).
    """
    rng = np.random.default_rng(seed)
    batch = rng.integers(0, 4, n)
    celltype = rng.integers(0, 3, n)
    group = np.where(batch < 2, "A", "B")
    fe = rng.normal(size=(n, 6))
    fe[:, 0] += 4.0 * np.cos(2 * np.pi * celltype / 3)
    fe[:, 1] += 4.0 * np.sin(2 * np.pi * celltype / 3)
    centres = rng.normal(scale=5.0, size=(4, 5))
    re = centres[batch] + rng.normal(size=(n, 5))
    idx = rng.permutation(n)
    parts = {"train": idx[: n * 3 // 5], "val": idx[n * 3 // 5 : n * 4 // 5], "test": idx[n * 4 // 5 :]}
    names = np.array([f"cell{i}" for i in range(n)])
    return dict(batch=batch, celltype=celltype, group=group, fe=fe, re=re, parts=parts, names=names)


def fold_inputs(d, feats, target):
    p = d["parts"]
    return (
        {s: feats[p[s]] for s in SPLITS},
        {s: d[target][p[s]] for s in SPLITS},
        {s: d["names"][p[s]] for s in SPLITS},
    )


@pytest.fixture(scope="module")
def data():
    return planted(0)


def test_fe_plus_re_meets_the_group_bar_and_fe_alone_is_chance(data, tmp_path):
    both = run_mec_fold(
        *fold_inputs(data, concat_features(data["fe"], data["re"]), "group"), tmp_path / "both"
    )
    fe = run_mec_fold(*fold_inputs(data, concat_features(data["fe"]), "group"), tmp_path / "fe")
    test = both.loc["test"]
    # §14 bar (group, cells mode): balanced accuracy ≥ chance balanced accuracy + 0.25
    assert test["RFBalancedAccuracy"] >= test["ChanceBalancedAccuracy"] + 0.25
    assert test["RFBalancedAccuracy"] >= 0.97
    # FE holds no batch/group signal: the forest is at chance level (2 classes: 0.5)
    assert abs(fe.loc["test", "RFBalancedAccuracy"] - 0.5) < 0.12
    assert abs(fe.loc["test", "ChanceBalancedAccuracy"] - 0.5) < 0.12
    assert fe.loc["train", "RFAccuracy"] == 1.0  # a forest memorises its training cells


def test_celltype_bar_and_file_formats(data, tmp_path):
    metrics = run_mec_fold(*fold_inputs(data, data["fe"], "celltype"), tmp_path)
    # §14 bar (celltype): balanced accuracy ≥ chance + 0.30; chance of 3 balanced classes ≈ 1/3
    assert metrics.loc["test", "RFBalancedAccuracy"] >= metrics.loc["test", "ChanceBalancedAccuracy"] + 0.30
    assert abs(metrics.loc["test", "ChanceBalancedAccuracy"] - 1 / 3) < 0.1
    back = pd.read_csv(tmp_path / "metrics.csv", index_col=0)
    assert list(back.index) == list(SPLITS) and list(back.columns) == list(METRICS)
    for split in SPLITS:
        for kind, prefix in (("rf", "RF"), ("dummy", "Chance")):
            pred = pd.read_csv(tmp_path / f"y_pred_{split}_{kind}.csv")
            assert list(pred.columns) == ["obs_name", "y_true", "y_pred"]
            assert list(pred["obs_name"]) == list(data["names"][data["parts"][split]])
            acc = float((pred["y_true"] == pred["y_pred"]).mean())
            assert back.loc[split, f"{prefix}Accuracy"] == pytest.approx(acc, abs=1e-12)
            per_class = (pred["y_true"] == pred["y_pred"]).groupby(pred["y_true"]).mean()
            assert back.loc[split, f"{prefix}BalancedAccuracy"] == pytest.approx(per_class.mean(), abs=1e-12)


def test_deterministic(data, tmp_path):
    a = run_mec_fold(*fold_inputs(data, data["fe"], "celltype"), tmp_path / "a", n_jobs=1)
    b = run_mec_fold(*fold_inputs(data, data["fe"], "celltype"), tmp_path / "b", n_jobs=2)
    pd.testing.assert_frame_equal(a, b)
    assert (tmp_path / "a/y_pred_test_rf.csv").read_bytes() == (
        tmp_path / "b/y_pred_test_rf.csv"
    ).read_bytes()


def test_aggregate_ci_by_hand(tmp_path):
    folds = {}
    for k, v in enumerate([0.1, 0.2, 0.3, 0.4, 0.5], start=1):
        frame = pd.DataFrame({m: [0.9, 0.8, v] for m in METRICS}, index=pd.Index(SPLITS, name="split"))
        (tmp_path / f"splits_{k}").mkdir()
        frame.to_csv(tmp_path / f"splits_{k}" / "metrics.csv")
        folds[k] = frame
    ci = aggregate_run(tmp_path, range(1, 6))
    assert ci.loc[("test", "mean"), "RFAccuracy"] == pytest.approx(0.3)
    assert ci.loc[("test", "CI_lower"), "RFAccuracy"] == pytest.approx(0.1036757, abs=5e-8)
    assert ci.loc[("test", "CI_upper"), "RFBalancedAccuracy"] == pytest.approx(0.4963243, abs=5e-8)
    assert ci.loc[("train", "std"), "ChanceAccuracy"] == pytest.approx(0.0, abs=1e-15)
    pd.testing.assert_frame_equal(read_ci(tmp_path / "metrics_allfolds_95CI.csv"), ci, check_exact=False)
    allf = pd.read_csv(tmp_path / "metrics_allfolds.csv", index_col=[0, 1])
    assert allf.shape == (15, 4) and allf.loc[(4, "test"), "RFAccuracy"] == pytest.approx(0.4)
    row = summary_row(ci, "group", "scmedalfe+scmedalre", "cells", True, 5, "run_mec_x")
    out = write_summary([row, {**row, "target": "celltype", "batch_level_target": False}], tmp_path / "s.csv")
    back = pd.read_csv(tmp_path / "s.csv")
    assert list(back.columns) == list(SUMMARY_COLUMNS) and list(back["target"]) == ["celltype", "group"]
    assert back.loc[1, "RFAccuracy_CI_lower"] == pytest.approx(0.1036757, abs=5e-8)
    assert back.loc[1, "batch_level_target"]
    assert out.shape == (2, len(SUMMARY_COLUMNS))
    with pytest.raises(InputError):
        aggregate_folds({}, tmp_path)


def test_batch_level_and_names(data):
    assert is_batch_level(data["group"], data["batch"])
    assert not is_batch_level(data["celltype"], data["batch"])
    assert is_batch_level(["a", None, "a", "b"], [1, 1, 1, 2])
    assert features_name("scmedalfe", True) == "scmedalfe+scmedalre"
    assert features_name("X_pca", False) == "X_pca"
    name = mec_run_name("scmedalfe+scmedalre", "group", {"n_estimators": 100, "fe_run": "run_crossval_abc"})
    assert name.startswith("run_mec_scmedalfe+scmedalre_group_") and len(name.rsplit("_", 1)[1]) == 12
    assert name == mec_run_name(
        "scmedalfe+scmedalre", "group", {"fe_run": "run_crossval_abc", "n_estimators": 100}
    )
    assert name != mec_run_name(
        "scmedalfe+scmedalre", "group", {"n_estimators": 50, "fe_run": "run_crossval_abc"}
    )
    assert mec_run_name("X pca", "Patient group", {}).startswith("run_mec_X-pca_Patient-group_")
    assert "splits.mode: batches" in LEAKAGE_CAVEAT


def test_input_errors(data, tmp_path):
    feats, labels, names = fold_inputs(data, data["fe"], "group")
    with pytest.raises(InputError, match="labels"):
        run_mec_fold(feats, {**labels, "val": labels["val"][:-1]}, names, tmp_path)
    with pytest.raises(InputError, match="test"):
        run_mec_fold({"train": feats["train"], "val": feats["val"]}, labels, names, tmp_path)
    with pytest.raises(InputError, match="re_latent"):
        concat_features(data["fe"], data["re"][:-1])
