"""Genomap cell sampling, multibatch matrix, stage files, cache and per-pixel statistics (spec §10)."""

import json

import numpy as np
import pandas as pd
import pytest

from snakelab.core.errors import InputError
from snakelab.scmedal.genomap.make import make_genomap, read_genomap
from snakelab.scmedal.genomap.multibatch import (
    META_COLUMNS,
    build_multibatch,
    read_multibatch,
    write_multibatch,
    zscore_genes,
)
from snakelab.scmedal.genomap.sampling import gname, select_cells
from snakelab.scmedal.genomap.stats import genomap_stats

BATCHES = ["b1", "b2", "b3", "b4"]


def split_obs(n: int = 80, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "obs_name": [f"c{i}" for i in range(n)],
            "batch": rng.choice(BATCHES, n),
            "celltype": rng.choice(["T", "B", "Mono"], n),
        }
    )


def test_select_cells_rule():
    obs = split_obs()
    idx = select_cells(obs, 10, seed=42, fold=1, celltypes=["T", "Mono"], forced_batches=["b3", "b1"])
    assert idx.dtype == np.int64 and len(idx) == len(set(idx)) == 10
    assert obs.batch[idx[0]] == "b3" and obs.batch[idx[1]] == "b1"  # forced batches first, in order
    assert set(obs.celltype[idx]) <= {"T", "Mono"}
    assert np.all(np.diff(idx[2:]) > 0)  # the rest in ascending row order
    again = select_cells(obs, 10, seed=42, fold=1, celltypes=["T", "Mono"], forced_batches=["b3", "b1"])
    assert np.array_equal(idx, again)
    other = select_cells(obs, 10, seed=42, fold=2, celltypes=["T", "Mono"], forced_batches=["b3", "b1"])
    assert not np.array_equal(idx, other)
    # the rule by hand: default_rng(SeedSequence([seed, fold])), one draw per forced batch, then choice
    rng = np.random.default_rng(np.random.SeedSequence([42, 1]))
    cand = obs.celltype.isin(["T", "Mono"]).to_numpy()
    forced = []
    for b in ["b3", "b1"]:
        pool = np.flatnonzero(cand & (obs.batch == b).to_numpy())
        forced.append(pool[rng.integers(pool.size)])
    rest = np.sort(rng.choice(np.setdiff1d(np.flatnonzero(cand), forced), 8, replace=False))
    assert np.array_equal(idx, np.concatenate([forced, rest]))
    everything = select_cells(obs, 1000, seed=0, fold=1, celltypes=["B"])
    assert np.array_equal(everything, np.flatnonzero(obs.celltype == "B"))
    with pytest.raises(InputError, match="forced_batches"):
        select_cells(obs, 5, 0, 1, celltypes=["T"], forced_batches=["nope"])
    with pytest.raises(InputError, match="celltypes"):
        select_cells(obs, 5, 0, 1, celltypes=["NK"])


def test_gname():
    assert gname(300, 19, "train", 1, ["Mono", "Mono-like"]) == (
        "300_cells_per_batch_19batches_train_1_Mono_Mono-like_with_2fe_input"
    )
    assert gname(5, 4, "test", 2, ["CD4+/CD45RA+ Naive T"]) == (
        "5_cells_per_batch_4batches_test_2_CD4+-CD45RA+-Naive-T_with_2fe_input"
    )
    assert gname(5, 4, "val", 3, None) == "5_cells_per_batch_4batches_val_3_allcelltypes_with_2fe_input"


def test_zscore():
    x = np.array([[1.0, 5.0, 2.0], [2.0, 5.0, 4.0], [3.0, 5.0, 9.0]])
    z = zscore_genes(x)
    assert np.allclose(z[:, 0], [-1.0, 0.0, 1.0])  # sd (ddof 1) of 1, 2, 3 is 1
    assert np.all(z[:, 1] == 0.0)  # zero-SD gene → 0
    assert np.allclose(z.mean(axis=0), 0.0) and np.allclose(z[:, 2].std(ddof=1), 1.0)


def multibatch_inputs(n: int = 6, g: int = 20, seed: int = 0):
    rng = np.random.default_rng(seed)
    obs = pd.DataFrame(
        {
            "obs_name": [f"cell{i}" for i in range(n)],
            "batch": [BATCHES[i % 4] for i in range(n)],
            "celltype": "T",
        }
    )
    x = rng.random((n, g))
    fe = x + 0.1 * rng.normal(size=(n, g))
    shift = rng.normal(scale=0.1, size=(4, g))
    cf = np.stack([x + shift[b] for b in range(4)])
    return x, fe, cf, obs


def test_build_write_read_multibatch(tmp_path):
    x, fe, cf, obs = multibatch_inputs()
    matrix, meta = build_multibatch(x, fe, cf, obs, BATCHES)
    assert matrix.shape == (36, 20) and matrix.dtype == np.float32
    ref = zscore_genes(np.vstack([x, fe, *cf]))
    assert np.allclose(matrix, ref, atol=1e-6)
    assert list(meta.columns) == list(META_COLUMNS)
    assert list(meta.block) == ["input"] * 6 + ["fe_recon"] * 6 + ["cf"] * 24
    assert list(meta.cf_batch[12:18]) == ["b1"] * 6 and list(meta.cf_batch[30:]) == ["b4"] * 6
    assert list(meta.obs_name[18:24]) == list(obs.obs_name)
    genes = [f"g{i}" for i in range(20)]
    write_multibatch(tmp_path / "CMmultibatch_x", matrix, genes, meta)
    m2, g2, meta2 = read_multibatch(tmp_path / "CMmultibatch_x")
    assert np.array_equal(m2, matrix) and g2 == genes
    pd.testing.assert_frame_equal(meta2, meta)
    with pytest.raises(InputError, match="counterfactuals"):
        build_multibatch(x, fe, cf[:3], obs, BATCHES)
    with pytest.raises(InputError, match="exprMatrix"):
        read_multibatch(tmp_path / "missing")


def test_make_genomap_files_cache_and_stats(tmp_path):
    x, fe, cf, obs = multibatch_inputs(n=5, g=23)
    cf[2:, :, 7] += 3.0  # batches b3, b4 (group B) raise gene g7 in every counterfactual
    matrix, meta = build_multibatch(x, fe, cf, obs, BATCHES)
    genes = [f"g{i}" for i in range(23)]
    mdir = write_multibatch(tmp_path / "CMmultibatch_m", matrix, genes, meta)
    out = tmp_path / "m"
    kwargs = dict(grid=(5, 5), solver="sinkhorn", epsilon=0.03, num_iter=30, forced_batches=["b2", "b3"])
    info = make_genomap(mdir, out, "m", celltypes=["T"], cache_dir=tmp_path / "cache", **kwargs)
    images = np.load(out / "genomap_m.npy")
    assert images.shape == (30, 5, 5, 1) and images.dtype == np.float32
    coords = pd.read_csv(out / "gene_coordinates_m.csv")
    assert list(coords.columns) == ["gene", "row", "col", "pixel", "ring"]
    assert sorted(coords.pixel) == list(range(23))  # 23 genes on the first 23 of 25 pixels (column-major)
    assert np.array_equal(coords.pixel, coords.col * 5 + coords.row)
    assert np.array_equal(images[:, coords.row, coords.col, 0], matrix)
    assert np.all(images[:, 3:, 4, 0] == 0)  # empty pixels 23, 24 = (3, 4), (4, 4); 22 = (2, 4) holds a gene
    t = np.load(out / "T_input_m.npy")
    assert t.shape == (23, 25) and t.dtype == np.float32
    assert np.allclose(t.sum(axis=1), 1 / 23) and np.count_nonzero(t) == 23
    log = json.loads((out / "gw_log.json").read_text())
    assert log["solver"] == "sinkhorn" and log["iterations"] <= 30 and log["J"] == pytest.approx(info["J"])
    assert len(log["err"]) == (log["iterations"] - 1) // 10 + 1 and log["epsilon"] == 0.03
    for name in (
        "m.png",
        "genomap_10topvariablegenesacrossbatches_cell1_std_T.png",
        "genomap_10topvariablegenesacrossbatches_cell2_few_batches_std_T.png",
        "genomap_10topvariablegenesacrossbatches_cell2_few_batches_std_T_labels.png",
    ):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    top = pd.read_csv(out / "genomap_10topvariablegenesacrossbatches_cell2_std.csv")
    assert list(top.columns) == ["gene", "row", "col", "sd", "rank"] and list(top["rank"]) == list(
        range(1, 11)
    )
    cf_rows = np.flatnonzero((meta.obs_name == "cell2") & (meta.block == "cf"))
    sd = matrix[cf_rows].std(axis=0, ddof=1)
    assert np.allclose(top.sd, np.sort(sd)[::-1][:10], atol=1e-6)
    assert top.gene[0] == "g7"  # the planted batch-dependent gene varies most across batches

    again = make_genomap(mdir, tmp_path / "m2", "m", cache_dir=tmp_path / "cache", plots=False, **kwargs)
    assert again["cache_hit"] == {"c1": True, "assignment": True}
    assert (tmp_path / "m2/genomap_m.npy").read_bytes() == (out / "genomap_m.npy").read_bytes()
    assert again["J"] == info["J"]

    groups = {"b1": "A", "b2": "A", "b3": "B", "b4": "B"}
    mwu = genomap_stats(out, mdir, "m", groups, ["A", "B"], "mwu", tmp_path / "demo_pvals_mwu.csv")
    back = pd.read_csv(tmp_path / "demo_pvals_mwu.csv")
    assert list(back.columns) == ["pixel", "gene", "U", "p", "q_bh"] and len(back) == 23
    assert np.all(np.diff(back.pixel) > 0)
    g7 = back[back.gene == "g7"].iloc[0]
    assert g7.U == 0.0 and g7.p == pytest.approx(1 / 3)  # exact two-sided U, 2 vs 2 batches, all B > A
    from scipy.stats import false_discovery_control

    assert np.allclose(mwu.q_bh, false_discovery_control(mwu.p))
    me = genomap_stats(out, mdir, "m", groups, ["A", "B"], "mixedlm", tmp_path / "demo_pvals_me.csv")
    assert list(me.columns) == ["pixel", "gene", "coef", "p", "q_bh"]
    row = me[me.gene == "g7"].iloc[0]
    assert row.coef > 0 and row.p < 0.05
    with pytest.raises(InputError, match="group"):
        genomap_stats(out, mdir, "m", {"b1": "A"}, ["A", "B"], "mwu", tmp_path / "x.csv")


def test_emd_genomap_and_gene_truncation(tmp_path):
    x, fe, cf, obs = multibatch_inputs(n=4, g=20)
    matrix, meta = build_multibatch(x, fe, cf, obs, BATCHES)
    mdir = write_multibatch(tmp_path / "CMmultibatch_e", matrix, [f"g{i}" for i in range(20)], meta)
    info = make_genomap(mdir, tmp_path / "e", "e", grid=(4, 4), solver="emd", num_iter=20, plots=False)
    assert info["n_genes"] == 16  # G > R·C: the first 16 genes
    images, coords = read_genomap(tmp_path / "e", "e")
    assert images.shape == (24, 4, 4, 1) and list(coords.gene) == [f"g{i}" for i in range(16)]
    assert sorted(coords.pixel) == list(range(16))
    assert not list((tmp_path / "e").glob("*.png"))
    with pytest.raises(InputError, match="solver"):
        make_genomap(mdir, tmp_path / "f", "f", solver="greedy")
