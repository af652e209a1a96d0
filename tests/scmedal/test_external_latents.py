"""Spec §6: external latents (``compare.external_latents``) are scored per fold on the seeded subsample
like a model's latent, aggregated, and compared next to ``X_pca``; bad files are one-line input errors."""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from snakelab.core.errors import InputError
from snakelab.scmedal import config as C
from snakelab.scmedal import stages
from snakelab.scmedal.paths import Tree
from snakelab.scmedal.scores import subsample
from tests.harness import REPO
from tests.scmedal.conftest import counts_adata

FOLDS = [1, 2, 3]
SECTION = {
    "datasets": {"d": {"input": "in.h5ad"}},
    "splits": {"n_folds": 3, "folds": FOLDS},
    "models": ["ae"],
    "scores": {"sample_size": 50, "splits": ["val", "test"], "pca_components": 4},
    "compare": {"models": ["pca"], "external_latents": {"ext": "ext/{fold}/{split}.npy"}},
}


def _args(cfg_path: Path, **extra) -> argparse.Namespace:
    return argparse.Namespace(config=str(cfg_path), spec=None, dataset="d", store=None, **extra)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A preprocessed dataset, its 3-fold splits, and an external latent per fold and split (a fixed
    projection of the split's rows, in splits.json order)."""
    from snakelab.scmedal.splits import run as write_splits

    monkeypatch.chdir(tmp_path)
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text(yaml.safe_dump({"scmedal": SECTION}))
    cfg = C.load(cfg_path)
    tree = Tree(cfg, "d")
    adata = counts_adata(n_cells=300, n_genes=30)
    adata.X = np.log1p(adata.X.toarray()).astype(np.float32)
    adata.obs = adata.obs.rename(columns={"donor": "batch", "type": "celltype"}).astype("category")
    Path(tree.adata()).parent.mkdir(parents=True)
    adata.write_h5ad(tree.adata())
    write_splits(tree.adata(), cfg["splits"], [], tree.splits())
    folds = json.loads(Path(tree.splits()).read_text())["folds"]
    proj = np.random.default_rng(1).normal(size=(30, 3))
    for k in FOLDS:
        for split in ("train", "val", "test"):
            path = Path(tree.latent("ext", k, split))
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, (adata.X[folds[str(k)][split]] @ proj).astype(np.float32))
    return cfg_path, tree, adata.obs, folds


def test_external_latent_scored_like_a_model_and_compared(project) -> None:
    cfg_path, tree, obs, folds = project
    for k in FOLDS:
        stages.pca(_args(cfg_path, fold=k, threads=1))
        for model in ("pca", "ext"):
            stages.scores(_args(cfg_path, model=model, fold=k))
    for model in ("pca", "ext"):
        stages.aggregate(_args(cfg_path, model=model))
    stages.compare(_args(cfg_path))

    assert tree.latent_run("ext").startswith(f"{tree.root}/latent_space/{tree.scenario}/ext/run_crossval_")
    silhouettes = []
    for k in FOLDS:
        rows = folds[str(k)]["test"]
        latent = np.load(tree.latent("ext", k, "test")).astype(np.float64)
        idx = subsample(len(rows), 50, 42, k, "test")
        assert idx.size == 50
        table = pd.read_csv(tree.scores("ext", k, "test"), header=[0, 1], index_col=0)
        assert list(table.index) == ["ext_latent_test"]
        for label in ("batch", "celltype"):
            y = obs[label].astype(str).to_numpy()[rows][idx]
            got = table.loc["ext_latent_test", label]
            assert got["silhouette"] == pytest.approx(silhouette_score(latent[idx], y), abs=1e-10)
            assert got["1/db"] == pytest.approx(1 / davies_bouldin_score(latent[idx], y), abs=1e-10)
            assert got["ch"] == pytest.approx(calinski_harabasz_score(latent[idx], y), rel=1e-10)
            assert bool(got["meaningful"])
        silhouettes.append(table.loc["ext_latent_test", ("batch", "silhouette")])
    ci = pd.read_csv(tree.compare_file("test", "ci"), header=[0, 1, 2], index_col=0)
    assert list(ci.index) == ["X_pca", "ext"]
    assert ci.loc["ext", ("batch", "silhouette", "mean")] == pytest.approx(np.mean(silhouettes), abs=1e-12)
    assert ci.loc[:, ("batch", "meaningful", "all_folds")].tolist() == [True, True]
    allscores = pd.read_csv(tree.compare_file("test", "allscores"), header=[0, 1], index_col=[0, 1])
    assert sorted(set(allscores.index.get_level_values(0))) == ["X_pca", "ext"]


def test_missing_file_and_wrong_row_count_are_input_errors(project) -> None:
    cfg_path, tree, _obs, folds = project
    path = Path(tree.latent("ext", 2, "test"))
    np.save(path, np.zeros((len(folds["2"]["test"]) - 1, 3), dtype=np.float32))
    with pytest.raises(InputError) as err:
        stages.scores(_args(cfg_path, model="ext", fold=2))
    assert (err.value.path, err.value.field) == (str(path), "rows")
    assert f"expected {len(folds['2']['test'])}" in err.value.expected
    path.unlink()
    with pytest.raises(InputError) as err:
        stages.scores(_args(cfg_path, model="ext", fold=2))
    assert (err.value.path, err.value.field) == (str(path), "latent")
    assert not any(Path(tree.scores("ext", 2, s)).exists() for s in ("val", "test"))


def test_external_names_and_patterns_are_checked() -> None:
    from snakemake.utils import validate

    def section(external):
        return C.section({"scmedal": {**SECTION, "compare": {"external_latents": external}}})

    assert C.compared_models(section({"scVI": "a/{fold}_{split}.npy"}))[-2:] == ["pca", "scVI"]
    for bad, field in (({"pca": "a/{fold}/{split}.npy"}, "pca"), ({"scVI": "a/{fold}.npy"}, "scVI")):
        with pytest.raises(InputError, match=f"external_latents.{field}"):
            C.external_latents(section(bad))
        doc = {"pipelines": ["scmedal"], "scmedal": copy.deepcopy(SECTION)}
        doc["scmedal"]["compare"] = {"external_latents": bad}
        with pytest.raises(Exception, match="external_latents"):
            validate(doc, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    one, other = section({"x": "a/{fold}/{split}.npy"}), section({"x": "b/{fold}/{split}.npy"})
    assert C.run_name(one, "d", "x") != C.run_name(other, "d", "x")
