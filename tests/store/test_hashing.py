"""A2 / D7: the canonical hash ``snakelab-canon-v1`` does not depend on how a frame was stored."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from snakelab.store.hashing import HashError, column_kinds, hash_array, hash_frame

#: sha256 of the canonical stream of the iris frame (§11 demo: 4 float64 columns + species strings).
#: Computed once at implementation; a change requires a new hash_scheme.
IRIS_DIGEST = "7de4dea4e1bfc725f062ca547187f65e2d90c56c7b04b80291ac1a0c4b8cd46b"


def iris() -> pd.DataFrame:
    from sklearn.datasets import load_iris

    bunch = load_iris(as_frame=True)
    frame = bunch.frame.iloc[:, :4].copy()
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    frame["species"] = np.asarray(bunch.target_names)[bunch.target.to_numpy()]
    return frame


def mixed() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "count": np.array([3, -1, 0, 7, 2**40, 5], dtype=np.int64),
            "score": [0.5, np.nan, -2.25, 1e-300, 3.0, np.nan],
            "flag": [True, False, True, True, False, False],
            "label": ["alpha", None, "γάμμα", "d", "e e", "ünïcode ✓"],
            "when": pd.to_datetime(
                [
                    "2020-01-01",
                    "1969-12-31 23:59:59.5",
                    "2038-01-19 03:14:08",
                    "2000-02-29",
                    "1677-09-22",
                    "2262-04-11",
                ],
                format="ISO8601",
            ),
            "group": pd.Categorical(["b", "a", "b", "c", "a", "b"]),
        }
    )


FRAMES = {"iris": iris, "mixed": mixed}
RETYPE = {"iris": {}, "mixed": {"when": "datetime64[ns]", "group": "category"}}


def test_pinned_iris_digest() -> None:
    frame = iris()
    assert frame.shape == (150, 5)
    assert hash_frame(frame) == IRIS_DIGEST
    assert column_kinds(frame) == [
        *({"name": c, "kind": "float"} for c in frame.columns[:4]),
        {"name": "species", "kind": "string"},
    ]


def test_iris_stream_is_the_documented_one() -> None:
    """Rebuild the iris stream by hand from the spec's definition, independently of the module."""
    frame = iris()
    header = {"n_rows": 150, "columns": column_kinds(frame)}
    stream = (
        b"snakelab-canon-v1\0tabular\0" + json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    )
    for name in frame.columns[:4]:
        stream += b"\1" * 150 + frame[name].to_numpy("<f8").tobytes()
    stream += b"\1" * 150
    for text in frame["species"]:
        data = text.encode("utf-8")
        stream += len(data).to_bytes(8, "little") + data
    assert hashlib.sha256(stream).hexdigest() == IRIS_DIGEST


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_in_memory_forms_hash_alike(name: str) -> None:
    frame = FRAMES[name]()
    expected = hash_frame(frame)
    assert hash_frame(pa.Table.from_pandas(frame)) == expected
    assert hash_frame(pa.Table.from_pandas(frame, preserve_index=True)) == expected
    shuffled = frame.sample(frac=1.0, random_state=0)
    assert hash_frame(shuffled) != expected  # row order matters...
    assert hash_frame(shuffled.sort_index()) == expected  # ...the index does not
    relabelled = frame.set_axis(np.arange(len(frame))[::-1] * 7 + 3, axis=0)
    assert hash_frame(relabelled) == expected


@pytest.mark.parametrize("name", sorted(FRAMES))
@pytest.mark.parametrize(
    ("writer", "compression", "row_group"),
    [
        (w, c, g)
        for w, c, g in itertools.product(
            ("pyarrow", "fastparquet"), ("zstd", "snappy", None), (10, 1_000_000)
        )
    ],
)
def test_parquet_round_trips_hash_alike(
    tmp_path: Path, name: str, writer: str, compression, row_group: int
) -> None:
    frame = FRAMES[name]()
    expected = hash_frame(frame)
    path = tmp_path / "data.parquet"
    if writer == "pyarrow":
        frame.to_parquet(path, engine="pyarrow", compression=compression, row_group_size=row_group)
    else:
        frame.to_parquet(path, engine="fastparquet", compression=compression, row_group_offsets=row_group)
    assert pq.ParquetFile(path).metadata.num_row_groups == -(-len(frame) // row_group)
    for reader in ("pyarrow", "fastparquet"):
        assert hash_frame(pd.read_parquet(path, engine=reader)) == expected, f"read by {reader}"
    assert hash_frame(pq.read_table(path)) == expected


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_csv_with_retype_hashes_alike(tmp_path: Path, name: str) -> None:
    frame = FRAMES[name]()
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    back = pd.read_csv(path, float_precision="round_trip").astype(RETYPE[name])
    assert hash_frame(back) == hash_frame(frame)


def test_row_groups_are_really_different(tmp_path: Path) -> None:
    frame = iris()
    frame.to_parquet(tmp_path / "a.parquet", engine="pyarrow", row_group_size=10)
    frame.to_parquet(tmp_path / "b.parquet", engine="fastparquet", compression="snappy", row_group_offsets=10)
    assert pq.ParquetFile(tmp_path / "a.parquet").metadata.num_row_groups == 15
    assert pq.ParquetFile(tmp_path / "b.parquet").metadata.num_row_groups == 15
    assert (tmp_path / "a.parquet").read_bytes() != (tmp_path / "b.parquet").read_bytes()


def test_string_storages_and_categoricals_are_one_kind() -> None:
    values = ["x", None, "yz", "x"]
    forms = [
        pd.Series(values, dtype=object),
        pd.Series(values, dtype="string[python]"),
        pd.Series(values, dtype="string[pyarrow]"),
        pd.Series(values, dtype=pd.StringDtype("pyarrow", na_value=np.nan)),
        pd.Series(values, dtype="category"),
    ]
    digests = {hash_frame(s.to_frame("s")) for s in forms}
    assert len(digests) == 1


def test_numeric_widths_and_datetime_units_are_one_kind() -> None:
    ints = [pd.Series([1, -2, 3], dtype=t) for t in ("int8", "int16", "int32", "int64")]
    ints += [pd.Series([1, 2, 3], dtype=t) for t in ("uint8", "uint32", "uint64")]
    assert len({hash_frame(s.abs().to_frame("v")) for s in ints}) == 1
    floats = [pd.Series([0.5, np.nan, 2.0], dtype=t) for t in ("float16", "float32", "float64", "Float64")]
    assert len({hash_frame(s.to_frame("v")) for s in floats}) == 1
    stamps = pd.Series(pd.to_datetime(["2021-05-01 10:00:00.123456", None]))
    units = [stamps.astype(f"datetime64[{u}]") for u in ("ns", "us")]
    assert len({hash_frame(s.to_frame("t")) for s in units}) == 1
    assert column_kinds(units[1].to_frame("t")) == [{"name": "t", "kind": "datetime"}]


def test_nullable_extension_dtypes_carry_validity() -> None:
    with_na = pd.Series([1, None, 3], dtype="Int64").to_frame("v")
    filled = pd.Series([1, 0, 3], dtype="int64").to_frame("v")
    assert column_kinds(with_na) == [{"name": "v", "kind": "int"}]
    assert hash_frame(with_na) != hash_frame(filled)
    assert hash_frame(pd.Series([True, None], dtype="boolean").to_frame("b")) == hash_frame(
        pd.Series([True, None], dtype=object).to_frame("b")
    )


def test_what_the_hash_depends_on() -> None:
    frame = mixed()
    digest = hash_frame(frame)
    assert hash_frame(frame[frame.columns[::-1]]) != digest  # column order
    assert hash_frame(frame.rename(columns={"score": "Score"})) != digest  # names
    changed = frame.copy()
    changed.loc[0, "score"] = 0.5000000000000001
    assert hash_frame(changed) != digest  # values, to the last bit
    assert hash_frame(frame.astype({"count": "float64"})) != digest  # kinds


def test_tz_aware_datetimes_hash_in_utc_with_the_zone_in_the_header() -> None:
    berlin = pd.Series(pd.date_range("2024-03-31 00:00", periods=4, freq="h", tz="Europe/Berlin")).to_frame(
        "t"
    )
    utc = berlin.assign(t=berlin["t"].dt.tz_convert("UTC"))
    assert column_kinds(berlin) == [{"name": "t", "kind": "datetime", "tz": "Europe/Berlin"}]
    assert hash_frame(berlin) != hash_frame(utc)  # same instants, different zone in the header
    naive = utc.assign(t=utc["t"].dt.tz_localize(None))
    assert hash_frame(naive) != hash_frame(utc)
    assert hash_frame(pa.Table.from_pandas(berlin)) == hash_frame(berlin)


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (pd.Series([1, "a", 2.5], dtype=object), "column c: mixed types"),
        (pd.Series([1, 2.5], dtype=object), "column c: mixed types"),
        (pd.Series([b"x", b"y"], dtype=object), "column c: mixed types"),
    ],
)
def test_mixed_object_columns_are_refused(column: pd.Series, message: str) -> None:
    with pytest.raises(HashError, match=f"^{message}.*use retype"):
        hash_frame(column.to_frame("c"))


def test_out_of_range_datetimes_are_refused() -> None:
    far = pd.Series(np.array(["3000-01-01"], dtype="datetime64[us]")).to_frame("t")
    with pytest.raises(HashError, match="column t: datetime values out of range for int64 nanoseconds"):
        hash_frame(far)


def test_large_uint64_is_its_own_kind() -> None:
    small = pd.Series(np.array([1, 2], dtype=np.uint64)).to_frame("u")
    large = pd.Series(np.array([1, 2**63 + 5], dtype=np.uint64)).to_frame("u")
    assert column_kinds(small) == [{"name": "u", "kind": "int"}]
    assert column_kinds(large) == [{"name": "u", "kind": "uint"}]


def test_arrays() -> None:
    a = np.arange(24, dtype="<f4").reshape(2, 3, 4)
    digest = hash_array(a, "sequence")
    assert hash_array(a.astype(">f4"), "sequence") == digest  # byte order
    assert hash_array(np.asfortranarray(a), "sequence") == digest  # memory layout
    assert hash_array(a, "image") != digest  # typ
    assert hash_array(a.reshape(3, 2, 4), "sequence") != digest  # shape
    assert hash_array(a.astype("<f8"), "sequence") != digest  # dtype
    nans = np.array([np.nan, 1.0], dtype="<f8")
    payload = nans.copy()
    payload.view("<u8")[0] = 0xFFF8000000000001  # another NaN bit pattern
    assert hash_array(payload, "sequence") == hash_array(nans, "sequence")
    expected = hashlib.sha256(
        b'snakelab-canon-v1\0sequence\0{"dtype":"<f8","shape":[2]}'
        + np.array([0x7FF8000000000000], "<u8").tobytes()
        + np.array([1.0], "<f8").tobytes()
    ).hexdigest()
    assert hash_array(nans, "sequence") == expected
    with pytest.raises(HashError, match="typ: expected 'sequence' or 'image'"):
        hash_array(a, "tabular")
