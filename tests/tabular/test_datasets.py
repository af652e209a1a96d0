"""Dataset registration (spec §4): ingest, canonical hash, versions, non-ingested sources, stats."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from snakelab.core.errors import InputError
from snakelab.store import models
from snakelab.store.core import Store, open_store
from snakelab.store.errors import DatasetConflict
from snakelab.store.hashing import hash_array, hash_frame
from snakelab.tabular.datasets import Dataset, DatasetChangedError

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SNAKELAB_STORE_URL", raising=False)
    opened = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}", create=True, config={"data_dir": "data"})
    yield opened
    opened.dispose()


def _rows(store: Store) -> int:
    with store.read() as session:
        return session.scalar(select(func.count()).select_from(models.Dataset))


def _mixed() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i": np.array([3, -1, 7], dtype=np.int64),
            "f": [0.5, np.nan, 2.25],
            "b": [True, False, True],
            "s": ["a", None, "ccc"],
            "t": pd.to_datetime(["2024-01-01 00:00:00", "2024-02-29 12:00:00", "1999-12-31 23:59:59"]),
            "c": pd.Categorical(["x", "y", "x"]),
        }
    )


def test_sklearn_iris_is_ingested_content_addressed(store: Store) -> None:
    iris = Dataset.tabular("sklearn:iris", name="iris", store=store)
    assert (iris.typ, iris.source_format, iris.source_path, iris.is_ingested) == (
        "tabular",
        "dataframe",
        "sklearn:iris",
        True,
    )
    assert iris.columns == [*FEATURES, "species"]
    assert iris.dtypes == ["float64"] * 4 + ["object"]
    assert [k["kind"] for k in iris.kinds] == ["float"] * 4 + ["string"]
    assert iris.shape == {"samples": 150, "columns": 5} and iris.contains_nan is False
    h = iris.content_hash
    assert iris.data_path == f"data/datasets/{h[:2]}/{h}.parquet" and Path(iris.data_path).is_file()
    assert iris.hash_scheme == "snakelab-canon-v1"
    frame = iris.load()
    assert hash_frame(frame) == h
    from sklearn.datasets import load_iris

    raw = load_iris(as_frame=True)
    np.testing.assert_array_equal(frame[FEATURES].to_numpy(), raw.data.to_numpy())
    assert frame["species"].tolist() == [raw.target_names[t] for t in raw.target]
    part = iris.load(columns=["species", "petal_width"], samples=[149, 0, 50])
    assert part.index.tolist() == [149, 0, 50] and part.columns.tolist() == ["species", "petal_width"]
    assert part["species"].tolist() == ["virginica", "setosa", "versicolor"]
    stats = iris.stats["columns"]
    assert stats["sepal_length"]["count"] == 150
    assert stats["sepal_length"]["mean"] == pytest.approx(frame["sepal_length"].mean(), rel=1e-15)
    assert stats["petal_width"]["max"] == 2.5 and stats["petal_width"]["50%"] == 1.3
    assert sorted(stats["species"]["top"]) == [["setosa", 50], ["versicolor", 50], ["virginica", 50]]
    assert Dataset.get("iris", store=store) == iris == Dataset.get(iris.id, store=store)
    assert iris.summary()["content_hash"] == h and iris.label == "iris v1"


def test_versions_follow_content(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    frame = _mixed()
    v1 = Dataset.tabular(frame, name="mixed", store=store)
    with caplog.at_level(logging.INFO, logger="snakelab.store"):
        again = Dataset.tabular(frame.copy(), name="mixed", store=store)
    assert again == v1 and f"identical content: reusing dataset mixed v1 (id {v1.id})" in caplog.text
    changed = frame.copy()
    changed.loc[0, "f"] = 0.75
    v2 = Dataset.tabular(changed, name="mixed", store=store)
    assert (v2.version, v2.content_hash != v1.content_hash) == (2, True)
    assert Dataset.get("mixed", store=store) == v2 and Dataset.get("mixed", version=1, store=store) == v1
    unnamed = Dataset.tabular(frame, store=store)
    assert unnamed.name is None and unnamed.id not in (v1.id, v2.id)
    assert Dataset.tabular(frame, store=store).id == unnamed.id
    with pytest.raises(DatasetConflict, match="already registered as typ tabular"):
        Dataset.sequence(np.zeros((2, 3, 4)), name="mixed", store=store)
    assert v1.contains_nan and v1.stats["columns"]["s"]["top"] == [["a", 1], [None, 1], ["ccc", 1]]
    assert Dataset.tabular(frame, name="mixed", store=store).version == 3
    assert _rows(store) == 4


def test_files_hash_like_the_frame(store: Store, tmp_path: Path) -> None:
    frame = _mixed()
    frame.to_parquet(tmp_path / "mixed.parquet", engine="pyarrow", compression="snappy")
    frame.to_csv(tmp_path / "mixed.csv", index=False)
    frame.to_csv(tmp_path / "mixed.tsv", index=False, sep="\t")
    reference = hash_frame(frame)
    from_parquet = Dataset.tabular(tmp_path / "mixed.parquet", name="p", store=store)
    retype = {"t": "datetime64[ns]", "c": "category"}
    from_csv = Dataset.tabular(tmp_path / "mixed.csv", name="c", retype=retype, store=store)
    from_tsv = Dataset.tabular(tmp_path / "mixed.tsv", name="t", retype=retype, ingest=False, store=store)
    assert from_parquet.content_hash == from_csv.content_hash == from_tsv.content_hash == reference
    assert from_parquet.data_path == from_csv.data_path
    assert (from_tsv.source_format, from_tsv.is_ingested, from_tsv.data_path) == ("tsv", False, None)
    assert from_tsv.source_sha256 == hashlib.sha256((tmp_path / "mixed.tsv").read_bytes()).hexdigest()
    assert from_tsv.source_path == "mixed.tsv"
    loaded = from_tsv.load()
    assert loaded.dtypes.astype(str).tolist() == from_parquet.load().dtypes.astype(str).tolist()
    assert hash_frame(loaded) == reference


def test_rename_columns(store: Store, tmp_path: Path) -> None:
    pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}).to_csv(tmp_path / "ab.csv", index=False)
    by_map = Dataset.tabular(tmp_path / "ab.csv", rename_columns={"a": "alpha"}, store=store)
    by_list = Dataset.tabular(tmp_path / "ab.csv", rename_columns=["alpha", "b"], store=store)
    assert by_map.columns == ["alpha", "b"] and by_map.content_hash == by_list.content_hash


def test_a_changed_source_is_refused_a_touched_one_trusted(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", "b", "a"]}).to_csv(path, index=False)
    dataset = Dataset.tabular(path, name="src", ingest=False, store=store)
    assert dataset.stats["source_file"]["size_bytes"] == path.stat().st_size
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert dataset.load()["x"].tolist() == [1.0, 2.0, 3.0]
    pd.DataFrame({"x": [1.0, 2.0, 4.0], "y": ["a", "b", "a"]}).to_csv(path, index=False)
    with pytest.raises(DatasetChangedError) as err:
        dataset.load()
    found = hash_frame(pd.read_csv(path))
    assert str(err.value) == (
        f"dataset src v1: data.csv changed since registration "
        f"(content hash {dataset.content_hash} != {found}); register a new version"
    )


@pytest.mark.parametrize(
    ("kwargs", "field", "expected"),
    [
        ({"retype": {"zz": "int64"}}, "retype", "unknown column(s) ['zz']"),
        ({"retype": {"y": "int64"}}, "retype.y", "cannot convert to int64"),
        ({"rename_columns": ["only_one"]}, "rename_columns", "expected 2 names, got 1"),
        ({"rename_columns": ["x", "x"]}, "columns", "expected unique column names"),
    ],
)
def test_bad_registrations_raise_one_line(
    store: Store, tmp_path: Path, kwargs: dict, field: str, expected: str
) -> None:
    path = tmp_path / "data.csv"
    pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]}).to_csv(path, index=False)
    with pytest.raises(InputError) as err:
        Dataset.tabular(path, **kwargs, store=store)
    assert err.value.field == field and err.value.path == str(path) and expected in str(err.value)
    assert "\n" not in str(err.value)
    assert _rows(store) == 0 and not Path("data").exists()


def test_bad_sources(store: Store, tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(
        InputError, match=r"x\.json: source: expected an existing \.csv, \.tsv or \.parquet file"
    ):
        Dataset.tabular(tmp_path / "x.json", store=store)
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match=r"broken\.parquet: source: cannot read as parquet"):
        Dataset.tabular(tmp_path / "broken.parquet", store=store)
    with pytest.raises(InputError, match="sklearn:nope: expected a bundled loader"):
        Dataset.tabular("sklearn:nope", store=store)
    mixed = pd.DataFrame({"m": [1, "a", 2.5]})
    with pytest.raises(InputError, match="column m: mixed types"):
        Dataset.tabular(mixed, store=store)
    with pytest.raises(
        InputError, match=r"shape: expected a 3-D array \(samples, rows, columns\), got shape \(4, 5\)"
    ):
        Dataset.sequence(np.zeros((4, 5)), store=store)
    with pytest.raises(InputError, match="expected a 4-D array"):
        Dataset.image(np.zeros((4, 5, 6)), store=store)
    assert _rows(store) == 0


def test_sequences_are_ingested_as_npy(store: Store) -> None:
    array = np.arange(2 * 5 * 3, dtype=np.float32).reshape(2, 5, 3)
    array[1, 2, 0] = np.nan
    seq = Dataset.sequence(array, name="seq", store=store)
    assert seq.shape == {"samples": 2, "rows": 5, "columns": 3} and seq.columns == ["0", "1", "2"]
    assert seq.content_hash == hash_array(array, "sequence") and seq.data_path.endswith(".npy")
    assert seq.dtypes == ["<f4"] and seq.contains_nan and seq.nbytes == array.nbytes
    np.testing.assert_array_equal(seq.load(), array)
    np.testing.assert_array_equal(seq.load(columns=["2", 0], samples=[1]), array[[1]][..., [2, 0]])
    assert seq.stats["array"]["count"] == 29
    assert Dataset.sequence(array.copy(), name="seq", store=store).id == seq.id


def test_images_from_npy_and_folders(store: Store, tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    from PIL import Image

    rng = np.random.default_rng(0)
    grey = rng.integers(0, 255, size=(3, 4, 5), dtype=np.uint8)
    rgb = rng.integers(0, 255, size=(2, 4, 5, 3), dtype=np.uint8)
    (tmp_path / "grey").mkdir()
    (tmp_path / "rgb").mkdir()
    for i, image in enumerate(grey):
        Image.fromarray(image, mode="L").save(tmp_path / "grey" / f"{i:02d}.png")
    for i, image in enumerate(rgb):
        Image.fromarray(image, mode="RGB").save(tmp_path / "rgb" / f"{i:02d}.png")
    from_folder = Dataset.image(tmp_path / "grey", name="grey", ingest=False, store=store)
    assert from_folder.shape == {"samples": 3, "channels": 1, "rows": 4, "columns": 5}
    assert from_folder.source_format == "folder" and from_folder.content_hash == hash_array(
        grey[:, None], "image"
    )
    np.testing.assert_array_equal(from_folder.load(), grey[:, None])
    colour = Dataset.image(tmp_path / "rgb", name="rgb", store=store)
    np.testing.assert_array_equal(colour.load(), np.moveaxis(rgb, -1, 1))
    np.save(tmp_path / "grey.npy", grey[:, None])
    from_npy = Dataset.image(tmp_path / "grey.npy", name="grey_npy", ingest=False, store=store)
    assert from_npy.content_hash == from_folder.content_hash and from_npy.source_format == "npy"
    Image.fromarray(255 - grey[0], mode="L").save(tmp_path / "grey" / "00.png")
    with pytest.raises(DatasetChangedError, match=r"grey v1: .*grey changed since registration"):
        from_folder.load()
    Image.fromarray(grey[0, :3], mode="L").save(tmp_path / "grey" / "99.png")
    with pytest.raises(InputError, match=r"99\.png: image: expected every image as \(1, 4, 5\) uint8"):
        Dataset.image(tmp_path / "grey", store=store)
