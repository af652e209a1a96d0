"""A1 (spec §13): no leakage. Every fitted statistic comes from exactly the fold's train rows."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from snakelab.store.core import Store
from snakelab.tabular.datasets import Dataset
from snakelab.tabular.preprocess.fit import load_preprocess, prepare_fold
from snakelab.tabular.splits import create_splitset, fold_names

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
SCALER = {"class": "sklearn.preprocessing.StandardScaler", "params": {}, "dtypes": ["float64"]}
IRIS_INPUT = {"encoders": [SCALER]}
IRIS_TARGET = {"column": "species", "encoder": {"class": "sklearn.preprocessing.OneHotEncoder", "params": {}}}
IRIS_STRATIFIER = {"size_test": 0.22, "fold_count": 5}


def _prepare(store: Store, dataset: Dataset, name: str, folds: list[str] | None = None, **spec: Any) -> dict:
    """Split ``dataset`` as pipeline ``name`` and prepare ``folds`` (default all); splits.json content."""
    inputs = spec.get("inputs", IRIS_INPUT)
    target = spec.get("target", IRIS_TARGET)
    stratifier = spec.get("stratifier", IRIS_STRATIFIER)
    out = Path("results") / name / "splits.json"
    info = create_splitset(
        store,
        name,
        [(dataset, inputs)],
        None if target is None else (dataset, target),
        stratifier,
        output=out,
    )
    for fold in folds or fold_names(info):
        prepare_fold(store, out, fold)
    return info


def _fold_dir(name: str, fold: str) -> Path:
    return Path("results") / name / "cache" / fold


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fitted(name: str, fold: str) -> dict[str, Any]:
    return load_preprocess(_fold_dir(name, fold) / "preprocess.joblib")


def _attributes(report_path: Path) -> list[Any]:
    report = json.loads(report_path.read_text())
    label = report["label"]
    return [[c["attributes"] for c in f["coders"]] for f in report["features"]] + [
        None if label is None else label["coder"]["attributes"]
    ]


def _assert_same_fit(a: Mapping[str, Any], b: Mapping[str, Any]) -> None:
    """Every fitted attribute of every coder (feature and label) is identical, bit for bit."""
    pairs = [
        (x["fitted"], y["fitted"])
        for x, y in zip(a["features"][0]["coders"], b["features"][0]["coders"], strict=True)
    ]
    if a["label"] is not None:
        pairs.append((a["label"]["coder"]["fitted"], b["label"]["coder"]["fitted"]))
    for one, two in pairs:
        names = sorted(k for k in vars(one) if k.endswith("_") and not k.startswith("_"))
        assert names and names == sorted(k for k in vars(two) if k.endswith("_") and not k.startswith("_"))
        for key in names:
            left, right = getattr(one, key), getattr(two, key)
            if isinstance(left, list):
                assert all(np.array_equal(x, y) for x, y in zip(left, right, strict=True)), key
            else:
                assert np.array_equal(np.asarray(left), np.asarray(right)), key
                if isinstance(left, np.ndarray) and left.dtype.kind == "f":
                    assert left.tobytes() == right.tobytes(), key


def test_iris_scaler_is_fit_on_exactly_the_fold_train_rows(store: Store) -> None:
    iris = Dataset.tabular("sklearn:iris", name="iris", store=store)
    info = _prepare(store, iris, "iris_ohe")
    frame = iris.load()
    assert [len(f["samples"]["fold_validation"]) for f in info["folds"]] == [24, 24, 23, 23, 23]
    for fold in info["folds"]:
        train = fold["samples"]["folds_train_combined"]
        fitted = _fitted("iris_ohe", fold["name"])
        scaler = fitted["features"][0]["coders"][0]["fitted"]
        x = frame.loc[train, FEATURES].to_numpy()
        assert scaler.n_samples_seen_ == len(train) and len(train) in (93, 94)
        np.testing.assert_allclose(scaler.mean_, x.mean(axis=0), rtol=1e-12, atol=0)
        np.testing.assert_allclose(scaler.scale_, x.std(axis=0), rtol=1e-12, atol=0)
        ohe = fitted["label"]["coder"]["fitted"]
        assert [list(c) for c in ohe.categories_] == [["setosa", "versicolor", "virginica"]]
        report = json.loads((_fold_dir("iris_ohe", fold["name"]) / "fit_report.json").read_text())
        coder = report["features"][0]["coders"][0]
        sorted_rows = np.sort(np.asarray(train, dtype="<i8")).tobytes()
        assert (coder["n_rows_fit"], coder["fit_scope"]) == (len(train), "train")
        assert coder["rows_sha256"] == hashlib.sha256(sorted_rows).hexdigest()
        assert coder["attributes"]["n_samples_seen_"] == len(train)
        assert (
            report["label"]["coder"]["fit_scope"] == "all" and report["label"]["coder"]["n_rows_fit"] == 150
        )
        cached = np.load(_fold_dir("iris_ohe", fold["name"]) / "folds_train_combined" / "feature_0.npy")
        np.testing.assert_array_equal(cached, ((x - x.mean(axis=0)) / x.std(axis=0)).astype(np.float32))


def test_scaling_evaluation_rows_by_1e3_changes_no_fit_and_no_train_array(store: Store) -> None:
    iris = Dataset.tabular("sklearn:iris", name="iris", store=store)
    info = _prepare(store, iris, "base")
    frame = iris.load().reset_index(drop=True)
    for fold in info["folds"]:
        name = fold["name"]
        outside = fold["samples"]["fold_validation"] + fold["samples"]["test"]
        perturbed = frame.copy()
        perturbed.loc[outside, FEATURES] *= 1e3
        version = Dataset.tabular(perturbed, name="iris", store=store)
        assert version.version > 1 and version.content_hash != iris.content_hash
        other = _prepare(store, version, f"perturbed_{name}", folds=[name])
        assert (
            other["samples"] == info["samples"] and other["folds"][fold["idx"]]["samples"] == fold["samples"]
        )
        _assert_same_fit(_fitted("base", name), _fitted(f"perturbed_{name}", name))
        base, moved = _fold_dir("base", name), _fold_dir(f"perturbed_{name}", name)
        assert _attributes(base / "fit_report.json") == _attributes(moved / "fit_report.json")
        for array in ("feature_0.npy", "label.npy"):
            assert _sha(base / "folds_train_combined" / array) == _sha(moved / "folds_train_combined" / array)
        # the perturbation did reach the evaluation rows
        assert _sha(base / "fold_validation" / "feature_0.npy") != _sha(
            moved / "fold_validation" / "feature_0.npy"
        )


def _series(values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"x": values.astype(np.float64)})


WINDOW_INPUT = {
    "window": {"size_window": 10, "size_shift": 5},
    "encoders": [{"class": "sklearn.preprocessing.StandardScaler"}],
}
WINDOW_STRATIFIER = {"size_test": 0.2, "size_validation": 0.2}


def _train_window_rows(info: Mapping[str, Any]) -> np.ndarray:
    """The union of the train windows' rows, recomputed from splits.json alone."""
    window = info["window"]
    rows: set[int] = set()
    for i in info["samples"][info["keys"]["train"]]:
        for start, stop in (window["samples_unshifted"][i], window["samples_shifted"][i]):
            rows.update(range(start, stop))
    return np.array(sorted(rows))


def test_windowed_scaler_sees_only_the_train_windows_rows(store: Store) -> None:
    rng = np.random.default_rng(7)
    values = np.cumsum(rng.normal(size=100))
    series = Dataset.tabular(_series(values), name="series", store=store)
    info = _prepare(store, series, "windows", inputs=WINDOW_INPUT, target=None, stratifier=WINDOW_STRATIFIER)
    assert info["window"]["window_count"] == 18 and info["n_samples"] == 18
    assert {k: len(v) for k, v in info["samples"].items()} == {"train": 10, "validation": 4, "test": 4}
    rows = _train_window_rows(info)
    scaler = _fitted("windows", "no_fold")["features"][0]["coders"][0]["fitted"]
    assert scaler.n_samples_seen_ == len(rows) < 100
    np.testing.assert_allclose(scaler.mean_, [values[rows].mean()], rtol=1e-12)
    np.testing.assert_allclose(scaler.scale_, [values[rows].std()], rtol=1e-12)

    outside = np.setdiff1d(np.arange(100), rows)
    moved = values.copy()
    moved[outside] = moved[outside] * 1e3 + 17.0
    version = Dataset.tabular(_series(moved), name="series", store=store)
    other = _prepare(
        store, version, "windows_moved", inputs=WINDOW_INPUT, target=None, stratifier=WINDOW_STRATIFIER
    )
    assert other["samples"] == info["samples"]
    _assert_same_fit(_fitted("windows", "no_fold"), _fitted("windows_moved", "no_fold"))
    base, changed = _fold_dir("windows", "no_fold"), _fold_dir("windows_moved", "no_fold")
    for array in ("feature_0.npy", "label.npy"):
        assert _sha(base / "train" / array) == _sha(changed / "train" / array)
    # the perturbed rows do reach the windows of the other splits
    others = [Path(s) / a for s in ("validation", "test") for a in ("feature_0.npy", "label.npy")]
    assert any(_sha(base / f) != _sha(changed / f) for f in others)


def _gappy(n: int, rng: np.random.Generator) -> pd.DataFrame:
    x = np.linspace(0.0, 10.0, n) + rng.normal(scale=0.1, size=n)
    x[rng.choice(n, size=n // 4, replace=False)] = np.nan
    return pd.DataFrame({"x": x, "y": np.arange(n) % 2})


@pytest.mark.parametrize("separately", [True, False])
def test_separate_interpolation_keeps_train_output_independent_of_other_rows(
    store: Store, separately: bool
) -> None:
    rng = np.random.default_rng(3)
    frame = _gappy(60, rng)
    inputs = {"interpolaters": [{"process_separately": separately}]}
    target = {"column": "y"}
    stratifier = {"size_test": 0.3}
    base = Dataset.tabular(frame, name="gappy", store=store)
    info = _prepare(store, base, f"gappy_{separately}", inputs=inputs, target=target, stratifier=stratifier)
    test = info["samples"]["test"]
    moved = frame.copy()
    moved.loc[test, "x"] = moved.loc[test, "x"].fillna(-5.0) * 1e3
    version = Dataset.tabular(moved, name="gappy", store=store)
    other = _prepare(
        store, version, f"gappy_moved_{separately}", inputs=inputs, target=target, stratifier=stratifier
    )
    assert other["samples"] == info["samples"]
    left = np.load(_fold_dir(f"gappy_{separately}", "no_fold") / "train" / "feature_0.npy")
    right = np.load(_fold_dir(f"gappy_moved_{separately}", "no_fold") / "train" / "feature_0.npy")
    assert not np.isnan(left).any()
    train = info["samples"]["train"]
    expected = (
        frame.loc[train, ["x"]].interpolate(method="linear", limit_direction="both").to_numpy(np.float32)
    )
    if separately:
        assert left.tobytes() == right.tobytes()
        np.testing.assert_array_equal(left, expected)
    else:
        assert left.tobytes() != right.tobytes()
