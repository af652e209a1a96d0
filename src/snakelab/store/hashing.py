"""The canonical content hash ``snakelab-canon-v1`` of datasets (spec §4).

sha256 over a byte stream that depends on column order, column names, canonical kinds and values,
and on nothing else: not the file format, parquet engine, compression, row groups, row index or
library versions. (AIQC hashed compressed parquet bytes, so one frame hashed differently under two
fastparquet versions.)

Stream: ``b"snakelab-canon-v1\\0<typ>\\0"``, a header (UTF-8 JSON, sorted keys, separators
``(",", ":")``), then the data.

- **tabular** header ``{"n_rows", "columns": [{"name", "kind"[, "tz"]}]}``; the row index is
  dropped; per column: validity bytes (uint8 1/0 per row), then the values by kind:

  - ``int``: signed ints, and uints whose values fit int64 → int64 LE (invalid rows 0);
  - ``uint``: uint64 columns with a value above int64 max → uint64 LE;
  - ``float``: float16/32/64, widened exactly → float64 LE; invalid rows and every NaN are
    0x7FF8000000000000 (and invalid);
  - ``bool`` → uint8;
  - ``string``: str objects, StringDtype of any storage, categoricals of strings, Arrow strings →
    per row a uint64 LE byte length + the UTF-8 bytes;
  - ``datetime``: datetime64 of any unit; tz-aware → UTC with the tz name in the header → int64 ns
    since the epoch (out of range: error);
  - ``timedelta`` → int64 ns.

  Nullable extension dtypes map to their kind and carry validity; a categorical hashes as its
  values' kind; an all-missing object column is a string column; an object column mixing Python
  types is an error (``column <c>: mixed types; use retype``).
- **sequence / image** (ndarrays) header ``{"shape", "dtype"}`` (little-endian numpy dtype string),
  then the C-order little-endian bytes, every float NaN written as the canonical quiet NaN.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

HASH_SCHEME = "snakelab-canon-v1"
FLOAT_NAN_BITS = 0x7FF8000000000000
_NAN_BITS = {2: np.uint16(0x7E00), 4: np.uint32(0x7FC00000), 8: np.uint64(FLOAT_NAN_BITS)}
_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_INT64_MAX = np.iinfo(np.int64).max


class HashError(ValueError):
    """A frame or array cannot be hashed canonically (names the column and what was expected)."""


@dataclass(frozen=True)
class ColumnKind:
    """A column's name and canonical kind (``tz`` for tz-aware datetimes)."""

    name: str
    kind: str
    tz: str | None = None

    def header(self) -> dict[str, str]:
        """The column's entry in the hash header."""
        entry = {"name": self.name, "kind": self.kind}
        if self.tz is not None:
            entry["tz"] = self.tz
        return entry


def _prefix(typ: str, header: dict[str, Any]) -> bytes:
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{HASH_SCHEME}\0{typ}\0".encode() + text.encode("utf-8")


# -- tabular ---------------------------------------------------------------------------------------


def hash_frame(frame: Any) -> str:
    """The canonical hash (64 hex) of a pandas DataFrame or pyarrow Table (dataset typ ``tabular``)."""
    columns = list(_arrow_columns(frame))
    kinds = [_kind(name, array) for name, array in columns]
    digest = hashlib.sha256(
        _prefix("tabular", {"n_rows": _n_rows(frame), "columns": [k.header() for k in kinds]})
    )
    for (_, array), kind in zip(columns, kinds, strict=True):
        for chunk in _column_bytes(array, kind):
            digest.update(chunk)
    return digest.hexdigest()


def column_kinds(frame: Any) -> list[dict[str, str]]:
    """``[{name, kind[, tz]}]`` of a pandas DataFrame or pyarrow Table (the ``dataset.kinds`` column)."""
    return [_kind(name, array).header() for name, array in _arrow_columns(frame)]


def _n_rows(frame: Any) -> int:
    return int(frame.num_rows) if hasattr(frame, "num_rows") else len(frame)


def _arrow_columns(frame: Any) -> Iterator[tuple[str, Any]]:
    """(name, pyarrow Array) per column, in order; the row index is dropped."""
    import pyarrow as pa

    if isinstance(frame, pa.Table):
        metadata = frame.schema.pandas_metadata or {}
        index_columns = {c for c in metadata.get("index_columns", []) if isinstance(c, str)}
        for name, column in zip(frame.column_names, frame.columns, strict=True):
            if name not in index_columns:
                yield (
                    str(name),
                    _decoded(column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)),
                )
        return
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise HashError(f"expected a pandas DataFrame or pyarrow Table, got {type(frame).__name__}")
    for position in range(frame.shape[1]):
        name = str(frame.columns[position])
        yield name, _decoded(_series_to_arrow(name, frame.iloc[:, position]))


def _decoded(array: Any) -> Any:
    import pyarrow as pa

    if pa.types.is_dictionary(array.type):
        return array.dictionary_decode()
    return array


def _series_to_arrow(name: str, series: Any) -> Any:
    import pandas as pd
    import pyarrow as pa

    if series.dtype != object:
        try:
            return pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise HashError(
                f"column {name}: dtype {series.dtype} cannot be hashed ({exc}); use retype"
            ) from None
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    target = {
        "string": pa.large_string(),
        "empty": pa.large_string(),
        "boolean": pa.bool_(),
        "integer": None,
        "floating": pa.float64(),
        "datetime64": None,
        "datetime": None,
        "timedelta64": None,
        "timedelta": None,
    }
    if inferred not in target:
        raise HashError(f"column {name}: mixed types ({inferred}); use retype")
    values = series.to_numpy(dtype=object, na_value=None)
    try:
        return pa.array(values, type=target[inferred], from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise HashError(f"column {name}: mixed types ({exc}); use retype") from None


def _kind(name: str, array: Any) -> ColumnKind:
    import pyarrow as pa
    import pyarrow.compute as pc

    t = array.type
    if pa.types.is_boolean(t):
        return ColumnKind(name, "bool")
    if pa.types.is_signed_integer(t):
        return ColumnKind(name, "int")
    if pa.types.is_unsigned_integer(t):
        if t.bit_width < 64:
            return ColumnKind(name, "int")
        top = pc.max(array).as_py()
        return ColumnKind(name, "int" if top is None or top <= _INT64_MAX else "uint")
    if pa.types.is_floating(t):
        return ColumnKind(name, "float")
    if (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
        or pa.types.is_null(t)
    ):
        return ColumnKind(name, "string")
    if pa.types.is_timestamp(t):
        return ColumnKind(name, "datetime", t.tz)
    if pa.types.is_duration(t):
        return ColumnKind(name, "timedelta")
    raise HashError(f"column {name}: type {t} has no canonical kind; use retype")


def _validity(array: Any) -> np.ndarray:
    if array.null_count == 0:
        return np.ones(len(array), dtype=bool)
    return np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _column_bytes(array: Any, kind: ColumnKind) -> Iterator[bytes]:
    """Validity bytes, then value bytes, of one column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    valid = _validity(array)
    if kind.kind == "float":
        values = np.asarray(array.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype="<f8")
        valid &= ~np.isnan(values)
        bits = values.view("<u8").copy()
        bits[~valid] = FLOAT_NAN_BITS
        yield valid.astype(np.uint8).tobytes()
        yield bits.tobytes()
        return
    yield valid.astype(np.uint8).tobytes()
    if kind.kind == "string":
        yield _string_bytes(array)
    elif kind.kind == "bool":
        filled = pc.fill_null(array, False)
        yield np.asarray(filled.to_numpy(zero_copy_only=False), dtype=np.uint8).tobytes()
    elif kind.kind in ("int", "uint"):
        target, dtype = (pa.int64(), "<i8") if kind.kind == "int" else (pa.uint64(), "<u8")
        filled = pc.fill_null(array.cast(target), 0)
        yield np.asarray(filled.to_numpy(zero_copy_only=False), dtype=dtype).tobytes()
    else:
        yield _nanoseconds(array, kind).tobytes()


def _nanoseconds(array: Any, kind: ColumnKind) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    factor = _NS_PER_UNIT[array.type.unit]
    raw = np.asarray(pc.fill_null(array.cast(pa.int64()), 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    limit = _INT64_MAX // factor
    if factor > 1 and np.any(np.abs(raw) > limit):
        raise HashError(
            f"column {kind.name}: {kind.kind} values out of range for int64 nanoseconds "
            f"(unit {array.type.unit}); use retype"
        )
    return (raw * factor).astype("<i8")


def _string_bytes(array: Any) -> bytes:
    """Per row: uint64 LE byte length, then the UTF-8 bytes (invalid rows: length 0)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    strings = pc.fill_null(array.cast(pa.large_string()), "")
    n = len(strings)
    buffers = strings.buffers()
    offsets = np.frombuffer(buffers[1], dtype="<i8")[strings.offset : strings.offset + n + 1]
    start, stop = int(offsets[0]), int(offsets[-1])
    data = (
        np.frombuffer(buffers[2], dtype=np.uint8)[start:stop]
        if buffers[2] is not None
        else np.empty(0, np.uint8)
    )
    lengths = np.diff(offsets)
    out = np.empty(8 * n + (stop - start), dtype=np.uint8)
    row_start = (offsets[:-1] - start) + 8 * np.arange(n, dtype=np.int64)
    out[(row_start[:, None] + np.arange(8)).ravel()] = lengths.astype("<u8").view(np.uint8)
    rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
    out[np.arange(stop - start, dtype=np.int64) + 8 * (rows + 1)] = data
    return out.tobytes()


# -- arrays ----------------------------------------------------------------------------------------


def hash_array(array: Any, typ: str) -> str:
    """The canonical hash (64 hex) of an ndarray registered as dataset typ ``sequence`` or ``image``."""
    if typ not in ("sequence", "image"):
        raise HashError(f"typ: expected 'sequence' or 'image' for an ndarray, got {typ!r}")
    a = np.asarray(array)
    if a.dtype.kind not in "biufcmM":
        raise HashError(f"array dtype {a.dtype}: expected a numeric, bool or datetime dtype")
    a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
    if a.dtype.kind in "fc":
        a = _canonical_nans(a)
    digest = hashlib.sha256(_prefix(typ, {"shape": list(a.shape), "dtype": a.dtype.str}))
    digest.update(a.tobytes(order="C"))
    return digest.hexdigest()


def _canonical_nans(a: np.ndarray) -> np.ndarray:
    floats = a.view(f"<f{a.dtype.itemsize // 2}") if a.dtype.kind == "c" else a
    nan = np.isnan(floats)
    if not nan.any():
        return a
    floats = floats.copy()
    bits = floats.view(f"<u{floats.dtype.itemsize}")
    bits[nan] = _NAN_BITS[floats.dtype.itemsize]
    return floats.view(a.dtype) if a.dtype.kind == "c" else floats
