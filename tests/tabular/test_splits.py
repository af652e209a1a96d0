"""Splits, folds and seeds (spec §6): sizes, stratification, errors, the stored rows and splits.json."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from snakelab.core.errors import InputError
from snakelab.store import models
from snakelab.store.core import Store
from snakelab.tabular import seeds
from snakelab.tabular.datasets import Dataset
from snakelab.tabular.splits import (
    StratifierSpec,
    create_splitset,
    fold_entry,
    fold_names,
    make_splits,
    read_splits,
    stratify_codes,
)

OHE = {"class": "sklearn.preprocessing.OneHotEncoder", "params": {}}
ORDINAL = {"class": "sklearn.preprocessing.OrdinalEncoder", "params": {}}
SCALER = {"class": "sklearn.preprocessing.StandardScaler", "params": {}, "dtypes": ["float64"]}


def _count(store: Store, model: type) -> int:
    with store.read() as session:
        return session.scalar(select(func.count()).select_from(model))


def _species() -> np.ndarray:
    return np.repeat(np.array(["setosa", "versicolor", "virginica"], dtype=object), 50)


# -- seeds -----------------------------------------------------------------------------------------


def test_derive_seed_is_the_spec_formula() -> None:
    def k(part: str) -> int:
        return int.from_bytes(hashlib.sha256(part.encode()).digest()[:4], "little")

    expected = np.random.SeedSequence(entropy=3, spawn_key=(k("split"), k("iris"), 7)).generate_state(
        1, np.uint32
    )[0]
    assert seeds.derive_seed(3, "split", "iris", 7) == int(expected)
    assert seeds.split_seed(0, "iris", "species", "h") == seeds.derive_seed(
        0, "split", "iris", "species", "h"
    )
    assert seeds.fold_seed(0, "iris", ["a", "b"], "h") == seeds.derive_seed(0, "folds", "iris", "a,b", "h")
    assert seeds.fold_seed(0, "iris", "species", "h") != seeds.split_seed(0, "iris", "species", "h")
    assert seeds.run_seed(0, "e", 1, -1, 0) == seeds.derive_seed(0, "run", "e", 1, "no_fold", 0)
    assert seeds.fi_seed(123) == seeds.derive_seed(123, "fi")
    assert seeds.search_seed(0, "e") == seeds.derive_seed(0, "search", "e")
    with pytest.raises(ValueError, match="non-negative"):
        seeds.derive_seed(0, -2)
    assert seeds.stratifier_hash({"size_test": 0.2, "fold_count": None}) == seeds.stratifier_hash(
        {"size_test": 0.2}
    )


# -- the stratifier section ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"size_test": 0.6, "size_validation": 0.4}, "stratifier.size_validation"),
        ({"size_test": 1.0}, "stratifier.size_test"),
        ({"size_test": True}, "stratifier.size_test"),
        ({"fold_count": 1}, "stratifier.fold_count"),
        ({"bin_count": 1}, "stratifier.bin_count"),
        ({"folds": 5}, "stratifier.folds"),
    ],
)
def test_stratifier_section_is_checked(spec: dict, field: str) -> None:
    with pytest.raises(InputError) as err:
        StratifierSpec.from_mapping(spec, "cfg.yaml")
    assert err.value.field == field and str(err.value).startswith(f"cfg.yaml: {field}: ")
    assert "\n" not in str(err.value)


def test_fold_count_zero_means_no_folds() -> None:
    assert StratifierSpec.from_mapping({"fold_count": 0}).fold_count is None


# -- stratify codes --------------------------------------------------------------------------------


def test_stratify_codes_by_kind() -> None:
    floats = np.arange(12, dtype=float)
    strata = stratify_codes(floats, None)
    assert strata.bin_count == 3 and np.bincount(strata.codes).tolist() == [4, 4, 4]
    assert stratify_codes(floats, 4).bin_count == 4
    ints = np.array([3, 1, 3, 2, 1, 3])
    assert stratify_codes(ints, None).codes.tolist() == [2, 0, 2, 1, 0, 2]
    assert stratify_codes(ints, 2).bin_count == 2
    strings = np.array(["b", "a", None, "b"], dtype=object)
    coded = stratify_codes(strings, None)
    assert coded.codes.tolist() == [1, 0, -1, 1] and coded.names == {0: "a", 1: "b", -1: "missing"}
    with pytest.raises(InputError, match=r"stratifier\.bin_count: expected null"):
        stratify_codes(strings, 3)
    assert stratify_codes(np.ones(10), None).codes is None
    with_nan = stratify_codes(np.array([1.0, np.nan, 2.0, 3.0, 4.0, 5.0]), 2)
    assert with_nan.codes.tolist() == [0, -1, 0, 0, 1, 1]


# -- make_splits -----------------------------------------------------------------------------------


def test_iris_sizes_and_fold_partition() -> None:
    spec = StratifierSpec(size_test=0.22, fold_count=5)
    splits = make_splits(150, _species(), spec, split_seed=11, fold_seed=12)
    assert {k: len(v) for k, v in splits.samples.items()} == {"test": 33, "train": 117}
    assert [len(f["fold_validation"]) for f in splits.folds] == [24, 24, 23, 23, 23]
    assert splits.keys == {"train": "folds_train_combined", "evaluation": "fold_validation", "test": "test"}
    assert np.bincount(pd.factorize(_species()[splits.samples["test"]], sort=True)[0]).tolist() == [
        11,
        11,
        11,
    ]
    held = np.concatenate([f["fold_validation"] for f in splits.folds])
    assert sorted(held.tolist()) == splits.samples["train"].tolist()
    for fold in splits.folds:
        assert (
            np.union1d(fold["folds_train_combined"], fold["fold_validation"]).tolist()
            == splits.samples["train"].tolist()
        )
        assert np.intersect1d(fold["folds_train_combined"], fold["fold_validation"]).size == 0
        assert fold["test"] is splits.samples["test"]
        assert np.all(np.diff(fold["fold_validation"]) > 0)
    assert splits.warnings == ["117 train samples do not divide into 5 equal folds"]


def test_validation_split_uses_the_rest_of_the_samples() -> None:
    spec = StratifierSpec(size_test=0.2, size_validation=0.2)
    splits = make_splits(150, _species(), spec, 5, 6)
    assert {k: len(v) for k, v in splits.samples.items()} == {"test": 30, "validation": 30, "train": 90}
    every = np.concatenate(list(splits.samples.values()))
    assert sorted(every.tolist()) == list(range(150))
    assert splits.keys == {"train": "train", "evaluation": "validation", "test": "test"}
    folds = make_splits(150, _species(), StratifierSpec(size_validation=0.2, fold_count=3), 5, 6)
    assert folds.keys["evaluation"] == "fold_validation" and "validation" in folds.folds[0]


def test_regression_labels_are_binned_and_rebinned() -> None:
    values = np.linspace(0.0, 1.0, 90) ** 2
    splits = make_splits(90, values, StratifierSpec(size_test=0.3, fold_count=3, bin_count=3), 1, 2)
    assert splits.stratified and splits.bin_count == 3
    test_bins = pd.qcut(values, 3, labels=False)[splits.samples["test"]]
    assert np.bincount(test_bins).tolist() == [9, 9, 9]


def test_unstratified_splits_and_seed_changes() -> None:
    spec = StratifierSpec(size_test=0.25, fold_count=4)
    a = make_splits(40, None, spec, 1, 2)
    b = make_splits(40, None, spec, 1, 2)
    c = make_splits(40, None, spec, 9, 2)
    assert not a.stratified and a.samples["test"].tolist() == b.samples["test"].tolist()
    assert a.samples["test"].tolist() != c.samples["test"].tolist()
    assert (
        make_splits(40, np.full(40, 2.5), spec, 1, 2).warnings[0].startswith("stratify values are constant")
    )
    only_train = make_splits(10, None, StratifierSpec(), 1, 2)
    assert only_train.keys == {"train": "train", "evaluation": None, "test": None}


def test_a_class_with_one_member_is_named() -> None:
    labels = np.array(["a"] * 10 + ["b"] * 10 + ["rare"], dtype=object)
    with pytest.raises(InputError) as err:
        make_splits(21, labels, StratifierSpec(size_test=0.3), 1, 2, path="data.csv")
    assert (
        str(err.value) == "data.csv: stratifier.size_test: class 'rare' has 1 member(s); 2 needed to stratify"
    )


def test_more_folds_than_the_smallest_train_class_is_an_error() -> None:
    labels = np.array(["a"] * 30 + ["b"] * 4, dtype=object)
    with pytest.raises(InputError) as err:
        make_splits(34, labels, StratifierSpec(fold_count=5), 1, 2, path="data.csv")
    assert err.value.field == "stratifier.fold_count"
    assert "class 'b' has 4 train sample(s), fewer than fold_count 5" in str(err.value)


# -- the split stage -------------------------------------------------------------------------------


def test_create_splitset_rows_and_splits_json(store: Store, iris: Dataset) -> None:
    out = Path("results/iris/splits.json")
    info = create_splitset(
        store,
        "iris_ohe",
        [(iris, {"encoders": [SCALER]})],
        (iris, {"column": "species", "encoder": OHE}),
        {"size_test": 0.22, "fold_count": 5},
        seed=0,
        output=out,
    )
    assert read_splits(out) == info
    assert fold_names(info) == [f"fold_{i}" for i in range(5)]
    spec_hash = StratifierSpec(size_test=0.22, fold_count=5).hash
    assert info["seeds"] == {
        "root": 0,
        "split_seed": seeds.split_seed(0, "iris", "species", spec_hash),
        "fold_seed": seeds.fold_seed(0, "iris", "species", spec_hash),
    }
    assert info["sizes"] == {"train": {"count": 117, "percent": 78.0}, "test": {"count": 33, "percent": 22.0}}
    assert info["stratify"] == {"source": "label", "column": "species", "reduce": None}
    with store.read() as session:
        splitset = session.get(models.Splitset, info["splitset_id"])
        assert (splitset.name, splitset.fold_count, splitset.supervision, splitset.has_validation) == (
            "iris_ohe",
            5,
            "supervised",
            False,
        )
        assert (splitset.key_train, splitset.key_evaluation, splitset.key_test) == (
            "folds_train_combined",
            "fold_validation",
            "test",
        )
        assert splitset.samples == info["samples"] and splitset.sizes == info["sizes"]
        assert (splitset.split_seed, splitset.fold_seed) == (
            info["seeds"]["split_seed"],
            info["seeds"]["fold_seed"],
        )
        assert splitset.indices_path == "results/iris/splits.json"
        assert splitset.indices_sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
        assert [f.id for f in splitset.features] == [info["features"][0]["id"]]
        assert [(f.idx, f.name, f.samples) for f in splitset.folds] == [
            (f["idx"], f["name"], f["samples"]) for f in info["folds"]
        ]
        feature = splitset.features[0]
        assert feature.columns == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
        assert feature.columns_excluded == ["species"]
        coder = feature.coders[0]
        assert (coder.idx, coder.spec["class"], coder.fit_scope, coder.is_categorical) == (
            0,
            "sklearn.preprocessing.StandardScaler",
            "train",
            False,
        )
        assert coder.encoding_dimension == "2D_multiColumn"
        assert coder.encoded_column_names == feature.columns and coder.leftover_columns == []
        assert coder.filter == {"include": True, "dtypes": ["float64"], "columns": None}
        label = splitset.label
        assert (label.columns, label.column_count, label.dtype) == (["species"], 1, "object")
        assert label.unique_classes == ["setosa", "versicolor", "virginica"]
        assert (label.coder.forced_params, label.coder.fit_scope, label.coder.encoding_dimension) == (
            {"sparse_output": False},
            "all",
            "2D_singleColumn",
        )
    assert fold_entry(info, "fold_2")["samples"] == info["folds"][2]["samples"]
    with pytest.raises(InputError, match="no fold 'no_fold'"):
        fold_entry(info, "no_fold")


def test_pipelines_that_differ_in_encoders_share_samples(store: Store, iris: Dataset) -> None:
    stratifier = {"size_test": 0.22, "fold_count": 5}
    ohe = create_splitset(store, "a", [(iris, {})], (iris, {"column": "species", "encoder": OHE}), stratifier)
    ordinal = create_splitset(
        store, "b", [(iris, {})], (iris, {"column": "species", "encoder": ORDINAL}), stratifier
    )
    assert ohe["splitset_id"] != ordinal["splitset_id"]
    assert ohe["seeds"] == ordinal["seeds"] and ohe["folds"][0]["samples"] == ordinal["folds"][0]["samples"]
    assert _count(store, models.Splitset) == 2 and _count(store, models.Fold) == 10


def test_bad_inputs_write_nothing(store: Store, iris: Dataset) -> None:
    frame = iris.load().reset_index(drop=True)
    tiny = Dataset.tabular(frame.iloc[[*range(50), 60, 61, 62]], name="tiny", store=store)
    one_class = Dataset.tabular(frame.iloc[:50], name="setosa", store=store)
    cases = [
        (
            iris,
            {"include_columns": ["petal_size"]},
            {"column": "species", "encoder": OHE},
            {},
            "input.include_columns",
        ),
        (iris, {}, {"column": "kind", "encoder": OHE}, {}, "target.column"),
        (one_class, {}, {"column": "species", "encoder": OHE}, {}, "target.column"),
        (tiny, {}, {"column": "species", "encoder": OHE}, {"fold_count": 5}, "stratifier.fold_count"),
        (
            iris,
            {},
            {"column": "species", "encoder": OHE},
            {"size_test": 0.2, "size_validation": 0.8},
            "stratifier.size_validation",
        ),
    ]
    for dataset, inputs, target, stratifier, field in cases:
        with pytest.raises(InputError) as err:
            create_splitset(
                store, "bad", [(dataset, inputs)], (dataset, target), stratifier, output="bad/splits.json"
            )
        assert err.value.field == field and "\n" not in str(err.value)
        assert err.value.path == dataset.path
    assert str(err.value).startswith(
        f"{iris.path}: stratifier.size_validation: expected size_test + size_validation < 1"
    )
    for model in (
        models.Splitset,
        models.Fold,
        models.Feature,
        models.Label,
        models.FeatureCoder,
        models.LabelCoder,
    ):
        assert _count(store, model) == 0
    assert not Path("bad").exists()


def test_one_class_label_message(store: Store, iris: Dataset) -> None:
    setosa = Dataset.tabular(iris.load().iloc[:50], name="setosa", store=store)
    with pytest.raises(InputError) as err:
        create_splitset(store, "p", [(setosa, {})], (setosa, {"column": "species", "encoder": OHE}), {})
    assert (
        str(err.value)
        == f"{setosa.path}: target.column: label species has 1 class(es) ['setosa']; expected at least 2"
    )


def test_unsupervised_column_is_reduced_per_window(store: Store) -> None:
    n = 60
    frame = pd.DataFrame({"x": np.arange(n, dtype=float), "regime": np.repeat([0.0, 1.0, 2.0], n // 3)})
    series = Dataset.tabular(frame, name="regimes", store=store)
    inputs = {"include_columns": ["x"], "window": {"size_window": 6, "size_shift": 3}}
    info = create_splitset(
        store,
        "w",
        [(series, inputs)],
        None,
        {"size_test": 0.25, "unsupervised_stratify_col": "regime", "bin_count": 3},
    )
    assert info["supervision"] == "unsupervised" and info["sample_unit"] == "window"
    assert info["stratify"] == {"source": "column", "column": "regime", "reduce": "median"}
    window = info["window"]
    assert (window["window_count"], window["lead"]) == (18, 0)
    medians = [np.median(frame["regime"].to_numpy()[a:b]) for a, b in window["samples_unshifted"]]
    bins = pd.qcut(medians, 3, labels=False, duplicates="drop")
    assert len(info["samples"]["test"]) == 5 and sorted(set(bins[info["samples"]["test"]])) == [0, 1, 2]
    assert (
        info["keys"] == {"train": "train", "evaluation": "test", "test": "test"}
        and info["evaluation_is_test"]
    )


def test_split_json_is_stable_and_rows_are_reused(store: Store, iris: Dataset) -> None:
    args = ([(iris, {})], (iris, {"column": "species", "encoder": OHE}), {"size_test": 0.2, "fold_count": 3})
    first = create_splitset(store, "p", *args, output="one/splits.json")
    again = create_splitset(store, "p", *args, output="two/splits.json")
    assert Path("one/splits.json").read_bytes() == Path("two/splits.json").read_bytes()
    assert first == again
    assert (
        _count(store, models.Splitset) == 1
        and _count(store, models.Feature) == 1
        and _count(store, models.Label) == 1
    )
    assert json.loads(Path("one/splits.json").read_text())["label"]["columns"] == ["species"]
