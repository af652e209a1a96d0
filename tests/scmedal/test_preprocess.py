"""Spec §14.1: preprocessing equals the explicit scanpy sequence; train-fitted scaling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from snakelab.core.errors import InputError
from snakelab.scmedal import preprocess as P
from snakelab.scmedal.config import DATASET_DEFAULTS, DEFAULTS
from snakelab.scmedal.data import load_fold, scale, unscale
from snakelab.scmedal.splits import make_splits
from tests.scmedal.conftest import counts_adata

SPEC = {**DATASET_DEFAULTS, "input": "x.h5ad", "batch_key": "donor", "celltype_key": "type"}


def test_preprocessing_equals_the_scanpy_sequence() -> None:
    import scanpy as sc

    params = {**DEFAULTS["preprocess"], "n_top_genes": 20}
    raw = counts_adata()
    ours, report = P.preprocess_adata(raw.copy(), SPEC, params)
    ref = raw.copy()
    sc.pp.filter_cells(ref, min_genes=10)
    sc.pp.filter_genes(ref, min_cells=3)
    sc.pp.normalize_total(ref, target_sum=1e4)
    sc.pp.log1p(ref)
    sc.pp.highly_variable_genes(ref, flavor="seurat", n_top_genes=20, subset=True)
    assert list(ours.var_names) == list(ref.var_names)
    assert list(ours.obs_names) == list(ref.obs_names)
    np.testing.assert_allclose(ours.X.toarray(), ref.X.toarray(), atol=1e-6)
    assert ours.X.dtype == np.float32
    assert list(ours.obs["batch"].cat.categories) == ["d0", "d1", "d2"]
    assert report["genes_out"] == 20


def test_n_top_genes_at_least_g_keeps_all_genes() -> None:
    raw = counts_adata()
    for n in (None, raw.n_vars, raw.n_vars + 5):
        ours, report = P.preprocess_adata(raw.copy(), SPEC, {**DEFAULTS["preprocess"], "n_top_genes": n})
        assert ours.n_vars == raw.n_vars
        assert report["hvg"] == "all genes kept"


def test_lognorm_input_is_not_normalised_again() -> None:
    raw = counts_adata()
    raw.X = raw.X.log1p()
    ours, _ = P.preprocess_adata(
        raw.copy(), {**SPEC, "x_kind": "lognorm"}, {**DEFAULTS["preprocess"], "n_top_genes": None}
    )
    np.testing.assert_array_equal(ours.X.toarray(), raw.X.toarray())


def _write_fold_inputs(tmp_path: Path) -> tuple[Path, Path]:
    raw = counts_adata(n_cells=150)
    adata, _ = P.preprocess_adata(raw, SPEC, {**DEFAULTS["preprocess"], "n_top_genes": None})
    adata_path, splits_path = tmp_path / "adata.h5ad", tmp_path / "splits.json"
    adata.write_h5ad(adata_path)
    doc = make_splits(
        list(adata.obs_names), adata.obs["batch"].to_numpy(), adata.obs["celltype"].to_numpy(), "cells", 5, 42
    )
    splits_path.write_text(json.dumps(doc))
    return adata_path, splits_path


def test_scaling_is_fitted_on_train(tmp_path: Path) -> None:
    adata_path, splits_path = _write_fold_inputs(tmp_path)
    data = load_fold(adata_path, splits_path, 2)
    train = data.rows("train")
    assert train.min() == 0.0 and train.max() == 1.0
    pair = data.scalers["train"]
    for split in ("val", "test"):
        assert data.scalers[split]["min"] == pair["min"] and data.scalers[split]["max"] == pair["max"]
        raw = data.raw[split].toarray()
        np.testing.assert_allclose(data.rows(split), scale(raw, pair), rtol=0, atol=0)
        np.testing.assert_allclose(unscale(data.rows(split), pair), raw, atol=1e-5)


def test_unseen_batches_get_an_all_zero_re_input(tmp_path: Path) -> None:
    raw = counts_adata(n_cells=150, n_batches=6)
    adata, _ = P.preprocess_adata(raw, SPEC, {**DEFAULTS["preprocess"], "n_top_genes": None})
    adata_path, splits_path = tmp_path / "adata.h5ad", tmp_path / "splits.json"
    adata.write_h5ad(adata_path)
    obs = adata.obs
    doc = make_splits(
        list(adata.obs_names), obs["batch"].to_numpy(), obs["celltype"].to_numpy(), "batches", 3, 42
    )
    splits_path.write_text(json.dumps(doc))
    data = load_fold(adata_path, splits_path, 1)
    assert data.z_input("test").sum() == 0.0
    assert np.array_equal(data.z("test").sum(axis=1), np.ones(data.n("test")))
    np.testing.assert_array_equal(data.z_input("train"), data.z("train"))


def test_scaling_per_split_maps_each_split_to_unit_range(tmp_path: Path) -> None:
    adata_path, splits_path = _write_fold_inputs(tmp_path)
    data = load_fold(adata_path, splits_path, 2, per_split_scaling=True)
    for split in ("train", "val", "test"):
        x = data.rows(split)
        assert x.min() == 0.0 and x.max() == 1.0
        assert data.scalers[split]["fitted_on"] == split


def test_missing_columns_and_nonfinite_values_are_input_errors(tmp_path: Path) -> None:
    raw = counts_adata()
    path = tmp_path / "bad.h5ad"
    raw.write_h5ad(path)
    with pytest.raises(InputError, match=r"obs\['batch'\]"):
        P.read_input(path, {**SPEC, "batch_key": "batch"})
    raw.X = raw.X.toarray()
    raw.X[3, 4] = np.nan
    raw.write_h5ad(path)
    with pytest.raises(InputError, match="NaN or inf"):
        P.read_input(path, SPEC)
