"""Preprocessing (spec §5): filters, coders, interpolaters, window, shaper, per-fold fit and cache."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from snakelab.core.errors import InputError
from snakelab.store import models
from snakelab.store.core import Store, open_store
from snakelab.tabular.datasets import Dataset
from snakelab.tabular.preprocess.cache import load_fold_cache, read_manifest
from snakelab.tabular.preprocess.coders import coder_spec, resolve_feature_coders
from snakelab.tabular.preprocess.features import resolve_feature
from snakelab.tabular.preprocess.filters import ColumnFilter, dtype_matches
from snakelab.tabular.preprocess.fit import decode_label, fit_fold, load_preprocess, prepare_fold
from snakelab.tabular.preprocess.interpolate import DEFAULT_KWARGS, InterpolaterPlan, interpolate_rows
from snakelab.tabular.preprocess.labels import resolve_label
from snakelab.tabular.preprocess.shaper import make_shaper, new_shape
from snakelab.tabular.preprocess.window import make_window
from snakelab.tabular.splits import create_splitset, fold_names

SCALER = {"class": "sklearn.preprocessing.StandardScaler", "params": {}}
OHE = {"class": "sklearn.preprocessing.OneHotEncoder", "params": {}}
ORDINAL = {"class": "sklearn.preprocessing.OrdinalEncoder", "params": {}}
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def _table(store: Store) -> Dataset:
    """40 rows: floats, an int, a bool, a string and a category column, and a 2-class label."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "f1": rng.normal(size=40),
            "f2": rng.normal(loc=5.0, size=40),
            "n": rng.integers(0, 9, size=40),
            "flag": rng.integers(0, 2, size=40).astype(bool),
            "city": np.array(["ams", "ber", "cph", "dub"], dtype=object)[np.arange(40) % 4],
            "grade": pd.Categorical(np.array(["lo", "hi"])[np.arange(40) % 2]),
            "y": np.array(["no", "yes"], dtype=object)[(np.arange(40) // 2) % 2],
        }
    )
    return Dataset.tabular(frame, name="table", store=store)


# -- filters ---------------------------------------------------------------------------------------


def test_dtype_names_and_groups() -> None:
    assert dtype_matches("float64", "float64") and dtype_matches("float32", "float")
    assert dtype_matches("int64", "number") and not dtype_matches("bool", "number")
    assert dtype_matches("object", "string") and dtype_matches("category", "string")
    assert dtype_matches("<f4", "float32") and not dtype_matches("float64", "int64")
    assert dtype_matches("datetime64[ns]", "datetime")


def test_filters_select_from_unused_columns() -> None:
    dtype_of = {"a": "float64", "b": "int64", "c": "object", "d": "float64"}
    assert ColumnFilter(dtypes=("float64",)).select(["a", "b", "c", "d"], dtype_of, None, "f") == ["a", "d"]
    assert ColumnFilter(dtypes=("float64",), columns=("c",)).select(list(dtype_of), dtype_of, None, "f") == [
        "a",
        "c",
        "d",
    ]
    assert ColumnFilter(include=False, dtypes=("float64",)).select(list(dtype_of), dtype_of, None, "f") == [
        "b",
        "c",
    ]
    assert ColumnFilter().select(["b", "c"], dtype_of, None, "f") == ["b", "c"]
    with pytest.raises(InputError, match=r"x\.csv: enc\[1\]\.columns: unknown column\(s\) \['zz'\]"):
        ColumnFilter(columns=("zz",)).select(["a"], dtype_of, "x.csv", "enc[1]")
    with pytest.raises(InputError, match=r"column\(s\) \['a'\] already consumed by an earlier step"):
        ColumnFilter(columns=("a",)).select(["b"], dtype_of, None, "enc[1]")
    with pytest.raises(InputError, match="selects no column"):
        ColumnFilter(dtypes=("bool",)).select(["a", "b"], dtype_of, None, "enc[0]")


# -- coders ----------------------------------------------------------------------------------------


def test_coder_specs_forced_params_and_scopes(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="snakelab.tabular"):
        spec, forced, categorical, scope = coder_spec(
            {**OHE, "params": {"sparse_output": True}}, (), None, "enc[0]"
        )
    assert spec == {"class": "sklearn.preprocessing.OneHotEncoder", "params": {"sparse_output": True}}
    assert (forced, categorical, scope) == ({"sparse_output": False}, True, "all")
    assert "enc[0]: forcing {'sparse_output': False}" in caplog.text
    assert coder_spec({**OHE, "fit_scope": "train"}, (), None, "e")[3] == "train"
    assert coder_spec(SCALER, (), None, "e")[1:] == ({}, False, "train")
    assert (
        coder_spec(
            {"class": "sklearn.preprocessing.KBinsDiscretizer", "params": {"encode": "ordinal"}},
            (),
            None,
            "e",
        )[3]
        == "train"
    )
    cases = [
        (
            {"class": "sklearn.preprocessing.KBinsDiscretizer"},
            "e.params.encode",
            "KBinsDiscretizer encode='onehot'",
        ),
        ({**SCALER, "fit_scope": "all"}, "e.fit_scope", "'all' is only for categorical coders"),
        (
            {"class": "sklearn.decomposition.PCA"},
            "e.class",
            "not in sklearn.preprocessing nor in tabular.allowed_encoders",
        ),
        ({"class": "sklearn.preprocessing.Nope"}, "e.class", "cannot import sklearn.preprocessing.Nope"),
        ({**SCALER, "params": {"with_sd": False}}, "e.params", "does not accept"),
        ({"class": "StandardScaler"}, "e.class", "expected a dotted class name"),
    ]
    for spec_in, field, message in cases:
        with pytest.raises(InputError) as err:
            coder_spec(spec_in, (), "cfg", "e")
        assert err.value.field == field and message in str(err.value)
    assert (
        coder_spec({"class": "sklearn.decomposition.PCA"}, ["sklearn.decomposition.PCA"], None, "e")[2]
        is False
    )


def test_feature_coder_chain_and_encoded_columns(store: Store) -> None:
    table = _table(store)
    spec = {
        "encoders": [
            {**OHE, "dtypes": ["object", "category"]},
            {**SCALER, "dtypes": ["float64"]},
        ]
    }
    plan = resolve_feature(table, spec, label_columns=["y"])
    assert plan.columns == ["f1", "f2", "n", "flag", "city", "grade"] and plan.columns_excluded == ["y"]
    ohe, scaler = plan.coders
    assert ohe.matching_columns == ["city", "grade"] and ohe.leftover_columns == ["f1", "f2", "n", "flag"]
    assert scaler.matching_columns == ["f1", "f2"] and scaler.leftover_columns == ["n", "flag"]
    assert scaler.leftover_dtypes == ["int64", "bool"]
    samples = {"train": np.arange(0, 30), "test": np.arange(30, 40)}
    arrays = fit_fold([plan], None, samples, "train", "no_fold")
    assert ohe.encoding_dimension == "2D_multiColumn" and scaler.encoding_dimension == "2D_multiColumn"
    assert plan.encoded_column_names == [
        *["city_ams", "city_ber", "city_cph", "city_dub", "grade_hi", "grade_lo"],
        *["f1", "f2", "n", "flag"],
    ]
    frame = table.load()
    train = arrays.features[0]["train"]
    assert train.dtype == np.float32 and train.shape == (30, 10)
    np.testing.assert_array_equal(train[:, :4], np.eye(4, dtype=np.float32)[np.arange(30) % 4])
    x = frame.loc[:29, ["f1", "f2"]].to_numpy()
    np.testing.assert_allclose(train[:, 6:8], (x - x.mean(0)) / x.std(0), rtol=1e-6)
    np.testing.assert_array_equal(train[:, 8], frame.loc[:29, "n"].to_numpy(np.float32))
    report = arrays.report["features"][0]["coders"]
    assert [(c["fit_scope"], c["n_rows_fit"]) for c in report] == [("all", 40), ("train", 30)]


def test_leftover_strings_are_named() -> None:
    dtype_of = {"a": "float64", "s": "object", "t": "category"}
    with pytest.raises(InputError) as err:
        resolve_feature_coders([{**SCALER, "dtypes": ["float64"]}], list(dtype_of), dtype_of, (), "d.csv")
    assert str(err.value).startswith(
        "d.csv: input.encoders: columns ['s', 't'] (['object', 'category']) are left unencoded"
    )


def test_encoding_dimensions(store: Store) -> None:
    table = _table(store)
    label_encoder = {"class": "sklearn.preprocessing.LabelEncoder", "params": {}}
    plan = resolve_feature(
        table, {"include_columns": ["city", "n"], "encoders": [{**label_encoder, "columns": ["city"]}]}
    )
    fit_fold([plan], None, {"train": np.arange(40)}, "train", "probe", transform=False)
    assert plan.coders[0].encoding_dimension == "1D" and plan.coders[0].encoded_column_names == ["city"]
    label = resolve_label(table, {"column": "y", "encoder": OHE})
    arrays = fit_fold(
        [resolve_feature(table, {"include_columns": ["f1"]})], label, {"train": np.arange(40)}, "train", "x"
    )
    assert label.coder.encoding_dimension == "2D_singleColumn"
    assert arrays.payload["label"]["encoded_column_names"] == ["y_no", "y_yes"]


# -- interpolation ---------------------------------------------------------------------------------


def test_interpolation_of_splits() -> None:
    x = np.array([0.0, np.nan, 2.0, np.nan, 4.0, 50.0, np.nan, 70.0])
    frame = pd.DataFrame({"x": x})
    plan = InterpolaterPlan(0, True, dict(DEFAULT_KWARGS), ["x"])
    train, test = np.array([0, 1, 3, 6]), np.array([2, 4, 5, 7])
    only_train = interpolate_rows(frame, [plan], train, train)
    assert only_train["x"].tolist() == [0.0, 0.0, 0.0, 0.0]
    with_test = interpolate_rows(frame, [plan], test, train)
    assert with_test.index.tolist() == [2, 4, 5, 7] and with_test["x"].tolist() == [2.0, 4.0, 50.0, 70.0]
    together = InterpolaterPlan(0, False, dict(DEFAULT_KWARGS), ["x"])
    assert interpolate_rows(frame, [together], train, train)["x"].tolist() == [0.0, 1.0, 3.0, 60.0]
    blocks = pd.DataFrame({"x": [0.0, np.nan, 2.0, 10.0, np.nan, np.nan]})
    assert interpolate_rows(blocks, [plan], np.arange(6), np.arange(3), block=3)["x"].tolist() == [
        0,
        1,
        2,
        10,
        10,
        10,
    ]


def test_interpolater_specs_are_checked(store: Store) -> None:
    table = _table(store)
    numbers = {"include_columns": ["f1", "f2", "n"]}
    plan = resolve_feature(table, {**numbers, "interpolaters": [{"kwargs": {"method": "nearest"}}]})
    assert plan.interpolaters[0].matching_columns == ["f1", "f2"]
    assert plan.interpolaters[0].interpolate_kwargs == {**DEFAULT_KWARGS, "method": "nearest"}
    with pytest.raises(
        InputError, match=r"input\.interpolaters\[0\]\.kwargs\.method: polynomial is not supported"
    ):
        resolve_feature(
            table, {**numbers, "interpolaters": [{"kwargs": {"method": "polynomial", "order": 2}}]}
        )
    with pytest.raises(InputError, match=r"interpolation needs float columns; \['n'\] are \['int64'\]"):
        resolve_feature(table, {**numbers, "interpolaters": [{"columns": ["f1", "n"]}]})
    with pytest.raises(InputError, match=r"target\.interpolater: interpolation needs a float label"):
        resolve_label(table, {"column": "y", "encoder": OHE, "interpolater": {}})


# -- window and shaper -----------------------------------------------------------------------------


def test_window_arithmetic() -> None:
    w = make_window(100, 10, 5)
    assert (w.window_count, w.lead) == (18, 0)
    assert w.samples_unshifted[0] == [0, 10] and w.samples_shifted[-1] == [90, 100]
    inference = make_window(100, 10, 5, record_shifted=False)
    assert (inference.window_count, inference.lead, inference.samples_shifted) == (19, 0, None)
    odd = make_window(24, 5, 3)
    assert (odd.window_count, odd.lead, odd.samples_unshifted[0], odd.samples_shifted[-1]) == (
        6,
        1,
        [1, 6],
        [19, 24],
    )
    assert w.rows([0, 3]).tolist() == [*range(0, 15), *range(15, 30)]
    values = np.arange(100.0)[:, None]
    rows = w.rows([2, 4])
    cut = w.cut(values[rows], rows, [2, 4])
    assert cut.shape == (2, 10, 1) and cut[1, 0, 0] == 20.0
    assert w.cut(values[rows], rows, [2, 4], shifted=True)[0, :, 0].tolist() == list(range(15, 25))
    with pytest.raises(
        InputError, match=r"input\.window\.size_window: expected 1 <= size_window <= rows - size_shift = 5"
    ):
        make_window(10, 6, 5)
    with pytest.raises(InputError, match=r"size_shift: expected an integer >= 1"):
        make_window(10, 2, 0)


def test_shaper() -> None:
    assert new_shape((7, 4), [0, "1", 1]) == (7, 1, 4)
    assert new_shape((7, 3, 5, 2), [0, [1, 2], 3]) == (7, 15, 2)
    assert make_shaper([0, "1", 1], 2, None).column_position == 2
    assert make_shaper([0, [1, 2]], 3, None).column_position == 1
    assert make_shaper([0, "3", "5"], 3, None).column_position is None
    with pytest.raises(InputError, match=r"reshape_indices\[0\]: expected 0"):
        make_shaper([1, 0], 2, "d")
    with pytest.raises(
        InputError, match=r"reshape_indices\[1\]: expected a dimension index in \[0, 2\), got 2"
    ):
        make_shaper([0, 2], 2, "d")


# -- features and labels ---------------------------------------------------------------------------


def test_feature_column_choices(iris: Dataset) -> None:
    assert resolve_feature(iris, {"exclude_columns": ["sepal_width"]}, ["species"]).columns == [
        "sepal_length",
        "petal_length",
        "petal_width",
    ]
    assert resolve_feature(iris, {"include_columns": ["petal_width", "sepal_length"]}).columns == [
        "sepal_length",
        "petal_width",
    ]
    errors = [
        ({"include_columns": ["a"], "exclude_columns": ["b"]}, "input.include_columns", "not both"),
        (
            {"include_columns": ["species"]},
            "input.include_columns",
            "label column(s) ['species'] cannot also be features",
        ),
        ({"exclude_columns": ["nope"]}, "input.exclude_columns", "unknown column(s) ['nope']"),
        ({"exclude_columns": FEATURES}, "input", "no feature column left"),
        ({"encoder": []}, "input.encoder", "unknown key"),
        ({"window": {"size_window": 4}}, "input.window.size_shift", "expected an integer >= 1"),
    ]
    for spec, field, message in errors:
        with pytest.raises(InputError) as err:
            resolve_feature(iris, spec, ["species"])
        assert err.value.field == field and message in str(err.value) and err.value.path == iris.path


def test_labels(store: Store, iris: Dataset) -> None:
    label = resolve_label(iris, {"column": "species", "encoder": ORDINAL})
    assert (label.unique_classes, label.dtype, label.coder.fit_scope) == (
        ["setosa", "versicolor", "virginica"],
        "object",
        "all",
    )
    with pytest.raises(InputError, match=r"target\.encoder: label species is object; expected an encoder"):
        resolve_label(iris, {"column": "species"})
    assert resolve_label(iris, {"column": "petal_width"}).unique_classes is None
    onehot = pd.get_dummies(iris.load()["species"]).astype(np.int64)
    onehot["x"] = np.arange(150.0)
    multi = Dataset.tabular(onehot, name="onehot", store=store)
    plan = resolve_label(multi, {"column": ["setosa", "versicolor", "virginica"]})
    assert (plan.column_count, plan.unique_classes, plan.is_one_hot) == (
        3,
        ["setosa", "versicolor", "virginica"],
        True,
    )
    with pytest.raises(InputError, match="expected one-hot 0/1 values with one 1 per row"):
        resolve_label(multi, {"column": ["setosa", "x"]})
    with pytest.raises(InputError, match="already one-hot; expected no encoder"):
        resolve_label(multi, {"column": ["setosa", "versicolor", "virginica"], "encoder": OHE})


# -- the prepare stage -----------------------------------------------------------------------------


def test_prepare_writes_cache_manifest_and_fold_rows(store: Store, iris: Dataset) -> None:
    out = Path("results/p/splits.json")
    info = create_splitset(
        store,
        "p",
        [(iris, {"encoders": [SCALER], "reshape_indices": [0, "1", 1]})],
        (iris, {"column": "species", "encoder": ORDINAL}),
        {"size_test": 0.2, "fold_count": 3},
        output=out,
    )
    manifests = [prepare_fold(store, out, fold) for fold in fold_names(info)]
    assert [m.as_posix() for m in manifests] == [f"results/p/cache/fold_{i}/manifest.json" for i in range(3)]
    manifest = read_manifest(manifests[1])
    root = manifests[1].parent
    for split in ("folds_train_combined", "fold_validation", "test"):
        for meta in manifest["splits"][split]["files"].values():
            assert hashlib.sha256((root / meta["path"]).read_bytes()).hexdigest() == meta["sha256"]
    files = manifest["splits"]["fold_validation"]["files"]
    count = len(info["folds"][1]["samples"]["fold_validation"])
    assert files["feature_0"]["shape"] == [count, 1, 4] and files["feature_0"]["dtype"] == "<f4"
    assert files["label"]["shape"] == [count] and files["label"]["dtype"] == "<i8"
    assert manifest["features"][0]["encoded_column_names"] == FEATURES and manifest["features"][0][
        "sample_shape"
    ] == [1, 4]
    assert manifest["label"]["encoded_column_names"] == ["species"]
    cache = load_fold_cache(manifests[1], verify=True)
    assert sorted(cache) == ["fold_validation", "folds_train_combined", "test"]
    species = iris.load()["species"].to_numpy()
    rows = info["folds"][1]["samples"]["test"]
    payload = load_preprocess(root / "preprocess.joblib")
    assert decode_label(payload, cache["test"]["label"]).tolist() == species[rows].tolist()
    assert cache["test"]["label"].tolist() == [
        ["setosa", "versicolor", "virginica"].index(s) for s in species[rows]
    ]
    with store.read() as session:
        for i, fold in enumerate(session.get(models.Splitset, info["splitset_id"]).folds):
            directory = manifests[i].parent
            assert fold.preprocess_path == (directory / "preprocess.joblib").as_posix()
            assert (
                fold.preprocess_sha256
                == hashlib.sha256((directory / "preprocess.joblib").read_bytes()).hexdigest()
            )
            assert fold.manifest_path == manifests[i].as_posix()
            assert fold.manifest_sha256 == hashlib.sha256(manifests[i].read_bytes()).hexdigest()
            assert fold.fit_report == json.loads((directory / "fit_report.json").read_text())
        assert session.get(models.Splitset, info["splitset_id"]).cache_dir == "results/p/cache"
    with pytest.raises(InputError, match="no fold 'fold_7'"):
        prepare_fold(store, out, "fold_7")


def test_prepare_without_folds_and_one_hot_decoding(store: Store, iris: Dataset) -> None:
    out = Path("nf/splits.json")
    info = create_splitset(
        store,
        "nf",
        [(iris, {})],
        (iris, {"column": "species", "encoder": OHE}),
        {"size_test": 0.3},
        output=out,
    )
    assert fold_names(info) == ["no_fold"]
    manifest = prepare_fold(store, out, "no_fold")
    cache = load_fold_cache(manifest, splits=["test"])
    label = cache["test"]["label"]
    assert label.dtype == np.float32 and label.shape == (45, 3) and (label.sum(axis=1) == 1).all()
    payload = load_preprocess(manifest.parent / "preprocess.joblib")
    assert (
        decode_label(payload, label).tolist()
        == iris.load()["species"].to_numpy()[info["samples"]["test"]].tolist()
    )
    with store.read() as session:
        splitset = session.get(models.Splitset, info["splitset_id"])
        assert splitset.preprocess_path == "nf/cache/no_fold/preprocess.joblib" and splitset.preprocess_sha256
    other = open_store("sqlite:///other.sqlite", create=True)
    with pytest.raises(InputError, match=r"nf/splits\.json: splitset_id: expected splitset 1 with spec"):
        prepare_fold(other, out, "no_fold")
    other.dispose()


def test_sequences_fit_on_train_sequences_rows(store: Store) -> None:
    rng = np.random.default_rng(5)
    array = rng.normal(size=(12, 4, 2)) * np.array([1.0, 10.0])
    array[0, 1, 0] = np.nan
    seq = Dataset.sequence(array, name="seq", store=store)
    labels = Dataset.tabular(pd.DataFrame({"y": np.arange(12) % 2}), name="seq_labels", store=store)
    inputs = {"interpolaters": [{}], "encoders": [SCALER]}
    info = create_splitset(
        store, "s", [(seq, inputs)], (labels, {"column": "y"}), {"size_test": 0.25}, output="s/splits.json"
    )
    assert info["sample_unit"] == "sequence"
    manifest = prepare_fold(store, "s/splits.json", "no_fold")
    scaler = load_preprocess(manifest.parent / "preprocess.joblib")["features"][0]["coders"][0]["fitted"]
    train = info["samples"]["train"]
    filled = array.copy()
    filled[0, 1, 0] = (array[0, 0, 0] + array[0, 2, 0]) / 2
    assert scaler.n_samples_seen_ == len(train) * 4 == 36
    np.testing.assert_allclose(scaler.mean_, filled[train].reshape(-1, 2).mean(axis=0), rtol=1e-12)
    cache = load_fold_cache(manifest)
    assert cache["train"]["features"][0].shape == (9, 4, 2) and cache["test"]["label"].shape == (3, 1)
    assert cache["test"]["label"].dtype == np.float32
