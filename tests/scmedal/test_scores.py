"""Spec §14.7: clustering scores equal sklearn's; the seeded subsample; CI aggregation of fold scores;
the "not meaningful" flag of RE test batch scores in batches mode (spec §3, §14)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from snakelab.scmedal.aggregate import all_scores, mean_scores
from snakelab.scmedal.compare import compare_tables
from snakelab.scmedal.plots import compare_chart
from snakelab.scmedal.scores import clustering_scores, meaningful, score_table, subsample


def _latent(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    batch = rng.choice(["a", "b", "c"], n)
    celltype = rng.choice(["x", "y"], n)
    x = rng.normal(size=(n, 5)) + 3.0 * (celltype == "x")[:, None]
    return x.astype(np.float32), batch, celltype


def test_scores_equal_sklearn() -> None:
    x, batch, _ = _latent()
    got = clustering_scores(x, batch)
    x64 = x.astype(np.float64)
    assert got["silhouette"] == pytest.approx(silhouette_score(x64, batch), abs=1e-12)
    assert got["1/db"] == pytest.approx(1.0 / davies_bouldin_score(x64, batch), abs=1e-12)
    assert got["ch"] == pytest.approx(calinski_harabasz_score(x64, batch), rel=1e-12)


def test_subsample_is_seeded_sorted_and_all_cells_when_small() -> None:
    a = subsample(25_000, 10_000, 42, 3, "test")
    assert np.array_equal(a, subsample(25_000, 10_000, 42, 3, "test"))
    assert a.size == 10_000 and np.all(np.diff(a) > 0)
    assert not np.array_equal(a, subsample(25_000, 10_000, 42, 3, "val"))
    assert np.array_equal(subsample(8_000, 10_000, 42, 1, "train"), np.arange(8_000))


def test_score_table_uses_the_same_cells_for_every_latent() -> None:
    x, batch, celltype = _latent()
    idx = subsample(300, 100, 0, 1, "test")
    table = score_table(
        {"m1_latent_test": x, "m2_latent_test": x * 2.0}, {"batch": batch, "celltype": celltype}, idx
    )
    assert list(table.columns) == [
        (lab, m) for lab in ("batch", "celltype") for m in ("ch", "1/db", "silhouette")
    ] + [("batch", "meaningful"), ("celltype", "meaningful")]
    assert table.loc["m1_latent_test", ("batch", "silhouette")] == pytest.approx(
        silhouette_score(x[idx], batch[idx])
    )
    # silhouette is scale-invariant: same cells give the same value
    assert table.loc["m2_latent_test", ("celltype", "silhouette")] == pytest.approx(
        table.loc["m1_latent_test", ("celltype", "silhouette")]
    )


def _fold_frames(values: list[float]) -> pd.DataFrame:
    cols = pd.MultiIndex.from_tuples(
        [("batch", "silhouette"), ("celltype", "silhouette")], names=["label", "metric"]
    )
    frames = {
        k + 1: pd.DataFrame(
            [[v, 1 - v]], index=pd.Index(["m_latent_test"], name="dataset_type"), columns=cols
        )
        for k, v in enumerate(values)
    }
    return pd.concat(frames, names=["fold", "dataset_type"])


def test_fold_aggregation_and_compare_95ci_by_hand() -> None:
    stacked = _fold_frames([0.1, 0.2, 0.3, 0.4, 0.5])
    means = mean_scores(stacked)
    col = ("batch", "silhouette")
    assert means.loc[("m_latent_test", "mean"), col] == pytest.approx(0.3)
    assert means.loc[("m_latent_test", "std"), col] == pytest.approx(0.1581139, abs=1e-7)
    assert means.loc[("m_latent_test", "sem"), col] == pytest.approx(0.0707107, abs=1e-7)
    tables = compare_tables({"m": stacked})
    assert tables["ci"].loc["m", (*col, "CI_lower")] == pytest.approx(0.1036757, abs=1e-7)
    assert tables["ci"].loc["m", (*col, "CI_upper")] == pytest.approx(0.4963243, abs=1e-7)
    assert tables["min"].loc["m", ("", "fold")] == 1
    assert tables["max"].loc["m", ("", "fold")] == 5


def test_only_re_test_batch_scores_in_batches_mode_are_not_meaningful() -> None:
    flagged = [
        (model, split, label, mode)
        for model in ("ae", "scmedalfe", "scmedalre", "pca", "scVI")
        for split in ("train", "val", "test")
        for label in ("batch", "celltype")
        for mode in ("cells", "batches")
        if not meaningful(model, split, label, mode)
    ]
    assert flagged == [("scmedalre", "test", "batch", "batches")]


def test_flags_travel_through_files_aggregation_and_compare(tmp_path) -> None:
    """A flagged fold makes the model's (batch, meaningful) false in mean scores and the compare
    tables; the flags never enter the statistics (means equal those of an unflagged copy)."""
    x, batch, celltype = _latent()
    labels = {"batch": batch, "celltype": celltype}
    paths = {"re": {}, "fe": {}}
    for k in (1, 2, 3):
        idx = subsample(300, 100, 0, k, "test")
        for model, flag in (("re", k != 2), ("fe", True)):
            table = score_table({f"{model}_latent_test": x * k}, labels, idx, {"batch": flag})
            paths[model][k] = tmp_path / f"{model}_{k}.csv"
            table.to_csv(paths[model][k])
    stacked = {m: all_scores(p) for m, p in paths.items()}
    assert stacked["re"][("batch", "meaningful")].tolist() == [True, False, True]
    assert stacked["re"][("celltype", "meaningful")].tolist() == [True, True, True]
    means = mean_scores(stacked["re"])
    assert means[("batch", "meaningful")].tolist() == [False] * 3
    assert means[("celltype", "meaningful")].tolist() == [True] * 3
    pd.testing.assert_frame_equal(
        means.drop(columns=[("batch", "meaningful"), ("celltype", "meaningful")]),
        mean_scores(stacked["fe"])
        .drop(columns=[("batch", "meaningful"), ("celltype", "meaningful")])
        .rename(index={"fe_latent_test": "re_latent_test"}),
    )
    tables = compare_tables(stacked)
    for key in ("means", "ci"):
        assert tables[key][("batch", "meaningful", "all_folds")].to_dict() == {"re": False, "fe": True}
        assert tables[key][("celltype", "meaningful", "all_folds")].to_dict() == {"re": True, "fe": True}
    assert tables["ci"].loc["re", ("batch", "silhouette", "mean")] == pytest.approx(
        np.mean(
            [
                silhouette_score(
                    x[subsample(300, 100, 0, k, "test")], batch[subsample(300, 100, 0, k, "test")]
                )
                for k in (1, 2, 3)
            ]
        )
    )
    tables["ci"].to_csv(tmp_path / "ci.csv")
    back = pd.read_csv(tmp_path / "ci.csv", header=[0, 1, 2], index_col=0)
    assert back[("batch", "meaningful", "all_folds")].tolist() == [False, True]
    compare_chart(back, tmp_path / "chart.png", "flags")
    assert (tmp_path / "chart.png").stat().st_size > 0


def test_compare_without_any_batch_silhouette_gives_nan_extremes() -> None:
    """Batches mode with one batch per test split: batch scores are NaN in every fold."""
    stacked = _fold_frames([0.1, 0.2, 0.3])
    stacked[("batch", "silhouette")] = np.nan
    tables = compare_tables({"m": stacked})
    for key in ("min", "max"):
        assert np.isnan(tables[key].loc["m", ("", "fold")])
        assert np.isnan(tables[key].loc["m", ("celltype", "silhouette")])
    assert tables["ci"].loc["m", ("celltype", "silhouette", "mean")] == pytest.approx(0.8)
