"""Dataset registration (spec §4): tabular, sequence and image data, ingested content-addressed.

>>> iris = Dataset.tabular("sklearn:iris", name="iris", store=store)         # doctest: +SKIP
>>> iris.load(columns=["sepal_length", "species"], samples=[0, 5, 7])         # doctest: +SKIP

- ``Dataset.tabular(df | path | "sklearn:<loader>")``: a DataFrame, a ``.csv``/``.tsv``/``.parquet``
  file, or a bundled scikit-learn dataset (``sklearn:iris`` = ``sklearn.datasets.load_iris``).
- ``Dataset.sequence(ndarray | .npy)``: shape (samples, rows, columns).
- ``Dataset.image(ndarray | .npy | folder)``: shape (samples, channels, rows, columns), channels first;
  a folder of same-sized images is read with Pillow (imported only then).

In-memory data is always ingested; files are ingested unless ``ingest=False``. Ingested data lives at
``<store.data_dir>/datasets/<h[:2]>/<h>.parquet`` (pyarrow, zstd) or ``.npy``, where ``h`` is the
canonical content hash (:mod:`snakelab.store.hashing`). A file that is not ingested keeps its path,
its byte sha256 and, in ``stats["source_file"]``, its size and mtime: a load with the same size and
mtime trusts the file, any other load re-hashes its content and refuses changed content.
Versions follow :func:`snakelab.store.versioning.register_dataset`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from snakelab.core.atomic import atomic_path
from snakelab.core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from snakelab.store.core import Store

log = logging.getLogger("snakelab.tabular")

TABULAR_FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif")
#: key of ``stats`` that keeps a non-ingested source's size and mtime.
SOURCE_STAT = "source_file"
#: the target column name of bundled scikit-learn datasets (``target`` unless listed).
SKLEARN_TARGETS = {"load_iris": "species", "load_wine": "cultivar", "load_breast_cancer": "diagnosis"}


class DatasetChangedError(InputError):
    """A non-ingested source file no longer holds the content it was registered with."""

    def __init__(self, label: str, path: str, registered: str, found: str) -> None:
        InputError.__init__(self, path, "content_hash", f"expected {registered}, found {found}")
        self.args = (
            f"dataset {label}: {path} changed since registration (content hash {registered} != {found}); "
            "register a new version",
        )


@dataclass(frozen=True)
class Dataset:
    """One registered dataset version (the values of its ``dataset`` row).

    Build it with :meth:`tabular`, :meth:`sequence`, :meth:`image` or :meth:`get`; read its data with
    :meth:`load`. ``shape`` is ``{samples, columns}`` (tabular), ``{samples, rows, columns}``
    (sequence) or ``{samples, channels, rows, columns}`` (image).
    """

    id: int
    name: str | None
    version: int
    typ: str
    source_format: str
    source_path: str | None
    source_sha256: str | None
    is_ingested: bool
    data_path: str | None
    content_hash: str
    hash_scheme: str
    shape: dict[str, int]
    columns: list[str] | None
    dtypes: list[str] | None
    kinds: list[dict[str, str]] | None
    nbytes: int | None
    contains_nan: bool | None
    stats: dict[str, Any] | None
    description: str | None

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def from_row(cls, row: Any) -> Dataset:
        """The values of a ``snakelab.store.models.Dataset`` row."""
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})

    @classmethod
    def get(cls, key: int | str, version: int | None = None, *, store: Store | None = None) -> Dataset:
        """A registered dataset by id, or by name (latest version unless ``version``)."""
        from sqlalchemy import select

        from snakelab.store.models import Dataset as Row

        store = store or _default_store(create=False)
        with store.read() as session:
            if isinstance(key, int):
                row = session.get(Row, key)
            else:
                query = select(Row).where(Row.name == key)
                if version is not None:
                    query = query.where(Row.version == version)
                row = session.scalars(query.order_by(Row.version.desc()).limit(1)).first()
            found = None if row is None else cls.from_row(row)
        if found is None:
            what = f"id {key}" if isinstance(key, int) else f"{key}" + (f" v{version}" if version else "")
            raise InputError(None, "dataset", f"no registered dataset {what}")
        return found

    @classmethod
    def tabular(
        cls,
        source: pd.DataFrame | str | os.PathLike[str],
        name: str | None = None,
        ingest: bool = True,
        rename_columns: Mapping[str, str] | Sequence[str] | None = None,
        retype: Mapping[str, str] | str | None = None,
        description: str | None = None,
        *,
        store: Store | None = None,
    ) -> Dataset:
        """Register a table: a DataFrame, a csv/tsv/parquet path or ``"sklearn:<loader>"``.

        ``rename_columns``: ``{old: new}`` or the list of all new names in order; ``retype``: one dtype
        for every column or ``{column: dtype}`` (names after renaming). A DataFrame or sklearn dataset
        is always ingested. Raises :class:`InputError` naming the source and the field.
        """
        import pandas as pd

        store = store or _default_store(create=True)
        source_path: str | None = None
        source_sha: str | None = None
        source_file: Path | None = None
        if isinstance(source, pd.DataFrame):
            where, fmt, frame = "<dataframe>", "dataframe", source.copy()
            ingest = True
        elif isinstance(source, str) and source.startswith("sklearn:"):
            where, fmt, frame = source, "dataframe", _sklearn_frame(source)
            source_path, ingest = source, True
        elif isinstance(source, (str, os.PathLike)):
            path = Path(source)
            fmt = TABULAR_FORMATS.get(path.suffix.lower(), "")
            if not fmt or not path.is_file():
                raise InputError(path, "source", "expected an existing .csv, .tsv or .parquet file")
            where, frame, source_file = str(path), _read_table(path, fmt), path
            source_path, source_sha = _stored(path), _sha256_file(path)
        else:
            raise InputError(
                None,
                "source",
                f"expected a DataFrame, a file path or 'sklearn:<loader>', got {type(source).__name__}",
            )
        frame = _retype(_rename(_string_columns(frame, where), rename_columns, where), retype, where)
        content_hash, kinds = _hash_frame(frame, where)
        values: dict[str, Any] = {
            "typ": "tabular",
            "source_format": fmt,
            "source_path": source_path,
            "source_sha256": source_sha,
            "is_ingested": ingest,
            "content_hash": content_hash,
            "shape": {"samples": len(frame), "columns": frame.shape[1]},
            "columns": list(frame.columns),
            "dtypes": [str(t) for t in frame.dtypes],
            "kinds": kinds,
            "nbytes": int(frame.memory_usage(deep=True, index=False).sum()),
            "contains_nan": bool(frame.isna().to_numpy().any()),
            "stats": {"columns": frame_stats(frame)},
        }
        if ingest:
            values["data_path"] = _ingest(
                store, content_hash, ".parquet", lambda tmp: _write_parquet(frame, tmp)
            )
        elif source_file is not None:
            values["stats"][SOURCE_STAT] = _source_stat(source_file)
        return _register(store, values, name, description)

    @classmethod
    def sequence(
        cls,
        source: np.ndarray | str | os.PathLike[str],
        name: str | None = None,
        ingest: bool = True,
        description: str | None = None,
        *,
        store: Store | None = None,
    ) -> Dataset:
        """Register sequences: an ndarray or ``.npy`` of shape (samples, rows, columns)."""
        return cls._array("sequence", source, name, ingest, description, store)

    @classmethod
    def image(
        cls,
        source: np.ndarray | str | os.PathLike[str],
        name: str | None = None,
        ingest: bool = True,
        description: str | None = None,
        *,
        store: Store | None = None,
    ) -> Dataset:
        """Register images: an ndarray/``.npy`` of shape (samples, channels, rows, columns) or a folder.

        A folder's images (sorted by file name; png, jpg, tif, bmp, gif) must share size and mode;
        grey images get one channel, RGB(A) images 3 (4), channels first. Needs Pillow.
        """
        return cls._array("image", source, name, ingest, description, store)

    @classmethod
    def _array(
        cls,
        typ: str,
        source: np.ndarray | str | os.PathLike[str],
        name: str | None,
        ingest: bool,
        description: str | None,
        store: Store | None,
    ) -> Dataset:
        store = store or _default_store(create=True)
        ndim = 3 if typ == "sequence" else 4
        source_path: str | None = None
        source_sha: str | None = None
        source_file: Path | None = None
        if isinstance(source, np.ndarray):
            where, fmt, array, ingest = "<ndarray>", "ndarray", source, True
        elif isinstance(source, (str, os.PathLike)):
            path = Path(source)
            if typ == "image" and path.is_dir():
                where, fmt, array = str(path), "folder", read_image_folder(path)
                source_sha = _sha256_folder(path)
            elif path.suffix.lower() == ".npy" and path.is_file():
                where, fmt, array = str(path), "npy", np.load(path, allow_pickle=False)
                source_sha = _sha256_file(path)
            else:
                expected = "an existing .npy file" + (" or folder of images" if typ == "image" else "")
                raise InputError(path, "source", f"expected {expected}")
            source_path, source_file = _stored(path), path
        else:
            raise InputError(None, "source", f"expected an ndarray or a path, got {type(source).__name__}")
        if array.ndim != ndim:
            dims = "(samples, rows, columns)" if typ == "sequence" else "(samples, channels, rows, columns)"
            raise InputError(where, "shape", f"expected a {ndim}-D array {dims}, got shape {array.shape}")
        if array.dtype.kind not in "biuf":
            raise InputError(where, "dtype", f"expected a numeric or bool array, got {array.dtype}")
        content_hash = _hash_array(array, typ, where)
        keys = (
            ("samples", "rows", "columns")
            if typ == "sequence"
            else ("samples", "channels", "rows", "columns")
        )
        values: dict[str, Any] = {
            "typ": typ,
            "source_format": fmt,
            "source_path": source_path,
            "source_sha256": source_sha,
            "is_ingested": ingest,
            "content_hash": content_hash,
            "shape": dict(zip(keys, (int(d) for d in array.shape), strict=True)),
            "columns": [str(i) for i in range(array.shape[-1])],
            "dtypes": [array.dtype.str],
            "kinds": None,
            "nbytes": int(array.nbytes),
            "contains_nan": bool(array.dtype.kind == "f" and np.isnan(array).any()),
            "stats": {"array": array_stats(array)},
        }
        if ingest:
            contiguous = np.ascontiguousarray(array)
            values["data_path"] = _ingest(
                store, content_hash, ".npy", lambda tmp: np.save(tmp, contiguous, allow_pickle=False)
            )
        elif source_file is not None:
            values["stats"][SOURCE_STAT] = _source_stat(source_file)
        return _register(store, values, name, description)

    # -- reading -------------------------------------------------------------------------------

    @property
    def label(self) -> str:
        """``<name> v<version>`` (or the short content hash of an unnamed dataset)."""
        return (
            f"{self.name} v{self.version}" if self.name is not None else f"<unnamed {self.content_hash[:12]}>"
        )

    @property
    def path(self) -> str:
        """The file (or folder) the data is read from: the ingested copy, else the source."""
        path = self.data_path if self.is_ingested else self.source_path
        assert path is not None
        return path

    @property
    def n_samples(self) -> int:
        """Number of samples: rows (tabular), sequences or images."""
        return int(self.shape["samples"])

    def load(
        self, columns: Sequence[str | int] | None = None, samples: Sequence[int] | np.ndarray | None = None
    ) -> Any:
        """The data: a DataFrame (tabular) or an ndarray (sequence, image).

        ``columns``: names (tabular) or positions along the last axis (arrays; ``"3"`` or ``3``);
        ``samples``: sample positions. A tabular frame keeps the sample positions as its index.
        A non-ingested source is checked first (see the module docstring).
        """
        from snakelab.store.files import resolve_stored

        path = resolve_stored(self.path)
        if not path.exists():
            raise InputError(
                self.path, "data_path", f"dataset {self.label}: expected the registered file, found none"
            )
        if self.typ == "tabular":
            return self._load_frame(path, columns, samples)
        array = self._load_array(path)
        if samples is not None:
            array = array[np.asarray(samples, dtype=np.int64)]
        if columns is not None:
            array = array[..., [self._column_position(c) for c in columns]]
        return np.array(array)

    def _load_frame(self, path: Path, columns: Sequence[str | int] | None, samples: Any) -> pd.DataFrame:
        wanted = None if columns is None else [str(c) for c in columns]
        unknown = [c for c in wanted or [] if c not in (self.columns or [])]
        if unknown:
            raise InputError(
                self.path, "columns", f"unknown column(s) {unknown}; expected some of {self.columns}"
            )
        if self.is_ingested:
            frame = _read_table(path, "parquet", columns=wanted)
        else:
            frame = self._conformed(_read_table(path, self.source_format))
            self._check_unchanged(path, lambda: frame)
            if wanted is not None:
                frame = frame[wanted]
        if samples is not None:
            frame = frame.iloc[np.asarray(samples, dtype=np.int64)]
        return frame

    def _load_array(self, path: Path) -> np.ndarray:
        if self.is_ingested:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        array = (
            read_image_folder(path) if self.source_format == "folder" else np.load(path, allow_pickle=False)
        )
        self._check_unchanged(path, lambda: array)
        return array

    def _conformed(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A re-read source with the registered column names and dtypes."""
        columns, dtypes = self.columns or [], self.dtypes or []
        if frame.shape[1] != len(columns):
            raise InputError(
                self.path,
                "columns",
                f"dataset {self.label}: expected {len(columns)} columns, found {frame.shape[1]}",
            )
        frame.columns = columns
        changed = {c: t for c, t, now in zip(columns, dtypes, frame.dtypes, strict=True) if str(now) != t}
        return frame.astype(changed) if changed else frame

    def _check_unchanged(self, path: Path, data: Any) -> None:
        registered = (self.stats or {}).get(SOURCE_STAT)
        if registered is not None and _source_stat(path) == registered:
            return
        content = data()
        found = (
            _hash_frame(content, self.path)[0]
            if self.typ == "tabular"
            else _hash_array(content, self.typ, self.path)
        )
        if found != self.content_hash:
            raise DatasetChangedError(self.label, self.path, self.content_hash, found)

    def _column_position(self, column: str | int) -> int:
        position = int(column)
        if not 0 <= position < self.shape["columns"]:
            raise InputError(
                self.path, "columns", f"expected positions in [0, {self.shape['columns']}), got {column!r}"
            )
        return position

    def summary(self) -> dict[str, Any]:
        """What the register stage writes to ``datasets/<name>.json`` (id, name, version, hash, path...)."""
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "typ": self.typ,
            "content_hash": self.content_hash,
            "hash_scheme": self.hash_scheme,
            "is_ingested": self.is_ingested,
            "data_path": self.data_path,
            "source_path": self.source_path,
            "shape": self.shape,
            "columns": self.columns,
        }


# -- sources ---------------------------------------------------------------------------------------


def _default_store(create: bool) -> Store:
    from snakelab.store.core import open_store

    return open_store(create=create)


def _read_table(path: Path, fmt: str, columns: list[str] | None = None) -> pd.DataFrame:
    import pandas as pd
    import pyarrow as pa

    try:
        if fmt == "parquet":
            return pd.read_parquet(path, engine="pyarrow", columns=columns).reset_index(drop=True)
        return pd.read_csv(path, sep="," if fmt == "csv" else "\t")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, pa.ArrowException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(path, "source", f"cannot read as {fmt} ({first})") from None


def _sklearn_frame(source: str) -> pd.DataFrame:
    """``sklearn:<name>`` → ``sklearn.datasets.load_<name>(as_frame=True).frame`` with snake_case names.

    Feature names lose their unit (``sepal length (cm)`` → ``sepal_length``); a classification target
    becomes the strings of ``target_names`` in a column named after the dataset (``species`` for iris).
    """
    import sklearn.datasets

    name = source.split(":", 1)[1]
    loader = name if name.startswith("load_") else f"load_{name}"
    function = getattr(sklearn.datasets, loader, None)
    if function is None or not callable(function):
        raise InputError(None, "source", f"{source}: expected a bundled loader sklearn.datasets.load_<name>")
    try:
        bunch = function(as_frame=True)
    except TypeError:
        raise InputError(None, "source", f"{source}: expected a loader that returns a DataFrame") from None
    frame = bunch.frame.copy()
    frame.columns = [_snake(c) for c in frame.columns]
    target_names = getattr(bunch, "target_names", None)
    if "target" in frame.columns and target_names is not None and frame["target"].dtype.kind in "iu":
        names = np.asarray(target_names, dtype=object)
        frame["target"] = names[frame["target"].to_numpy()]
    return frame.rename(columns={"target": SKLEARN_TARGETS.get(loader, "target")})


def _snake(column: Any) -> str:
    text = re.sub(r"\([^)]*\)", "", str(column)).strip().lower()
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


def _string_columns(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    frame.columns = [str(c) for c in frame.columns]
    duplicated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if duplicated:
        raise InputError(where, "columns", f"expected unique column names, found duplicates {duplicated}")
    return frame.reset_index(drop=True)


def _rename(
    frame: pd.DataFrame, rename: Mapping[str, str] | Sequence[str] | None, where: str
) -> pd.DataFrame:
    if rename is None:
        return frame
    if isinstance(rename, Mapping):
        unknown = [c for c in rename if c not in frame.columns]
        if unknown:
            raise InputError(
                where,
                "rename_columns",
                f"unknown column(s) {unknown}; expected some of {list(frame.columns)}",
            )
        frame = frame.rename(columns={str(k): str(v) for k, v in rename.items()})
    else:
        names = [str(c) for c in rename]
        if len(names) != frame.shape[1]:
            raise InputError(where, "rename_columns", f"expected {frame.shape[1]} names, got {len(names)}")
        frame.columns = names
    return _string_columns(frame, where)


def _retype(frame: pd.DataFrame, retype: Mapping[str, str] | str | None, where: str) -> pd.DataFrame:
    if retype is None:
        return frame
    wanted = {c: retype for c in frame.columns} if isinstance(retype, str) else dict(retype)
    unknown = [c for c in wanted if c not in frame.columns]
    if unknown:
        raise InputError(
            where, "retype", f"unknown column(s) {unknown}; expected some of {list(frame.columns)}"
        )
    for column, dtype in wanted.items():
        try:
            frame[column] = frame[column].astype(dtype)
        except (TypeError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(where, f"retype.{column}", f"cannot convert to {dtype} ({first})") from None
    return frame


def _hash_frame(frame: pd.DataFrame, where: str) -> tuple[str, list[dict[str, str]]]:
    from snakelab.store.hashing import HashError, column_kinds, hash_frame

    try:
        return hash_frame(frame), column_kinds(frame)
    except HashError as exc:
        raise InputError(where, "columns", str(exc)) from None


def _hash_array(array: np.ndarray, typ: str, where: str) -> str:
    from snakelab.store.hashing import HashError, hash_array

    try:
        return hash_array(array, typ)
    except HashError as exc:
        raise InputError(where, "data", str(exc)) from None


def read_image_folder(folder: str | os.PathLike[str]) -> np.ndarray:
    """The images of ``folder`` (sorted by name) as one (samples, channels, rows, columns) array."""
    try:
        from PIL import Image
    except ImportError:
        raise InputError(
            folder, "source", "reading a folder of images needs Pillow (pip install pillow)"
        ) from None
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise InputError(folder, "source", f"expected image files ({', '.join(IMAGE_SUFFIXES)}), found none")
    arrays = []
    for file in files:
        with Image.open(file) as image:
            pixels = np.asarray(image)
        arrays.append(pixels[np.newaxis] if pixels.ndim == 2 else np.moveaxis(pixels, -1, 0))
        if arrays[-1].shape != arrays[0].shape or arrays[-1].dtype != arrays[0].dtype:
            raise InputError(
                file,
                "image",
                f"expected every image as {arrays[0].shape} {arrays[0].dtype} (like {files[0].name}), "
                f"found {arrays[-1].shape} {arrays[-1].dtype}",
            )
    return np.stack(arrays)


# -- files -----------------------------------------------------------------------------------------


def _stored(path: Path) -> str:
    from snakelab.store.files import stored_path

    return stored_path(path)


def _sha256_file(path: Path) -> str:
    from snakelab.store.files import sha256_file

    return sha256_file(path)


def _folder_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file())


def _sha256_folder(folder: Path) -> str:
    """sha256 over ``<name>\\0<file sha256>\\0`` of every file of ``folder``, sorted by name."""
    digest = hashlib.sha256()
    for file in _folder_files(folder):
        digest.update(file.name.encode("utf-8") + b"\0" + _sha256_file(file).encode() + b"\0")
    return digest.hexdigest()


def _source_stat(path: Path) -> dict[str, int]:
    """Size (bytes) and mtime (ns) of a file; total size, latest mtime and count of a folder's files."""
    if path.is_dir():
        stats = [f.stat() for f in _folder_files(path)]
        return {
            "size_bytes": sum(s.st_size for s in stats),
            "mtime_ns": max((s.st_mtime_ns for s in stats), default=0),
            "files": len(stats),
        }
    stat = path.stat()
    return {"size_bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _write_parquet(frame: pd.DataFrame, target: Path) -> None:
    frame.to_parquet(target, engine="pyarrow", compression="zstd", index=False)


def _ingest(store: Store, content_hash: str, suffix: str, write: Any) -> str:
    """Write the content-addressed copy (once; atomically); return its stored path."""
    from snakelab.store.versioning import ingested_path

    target = ingested_path(store.settings.data_dir, content_hash, suffix)
    if not target.is_file():
        with atomic_path(target) as tmp:
            write(tmp)
    return _stored(target)


def _register(store: Store, values: dict[str, Any], name: str | None, description: str | None) -> Dataset:
    from snakelab.store.versioning import register_dataset

    row, created = register_dataset(store, {**values, "name": name, "description": description})
    dataset = Dataset.from_row(row)
    if created:
        log.info("registered dataset %s (id %d, %s)", dataset.label, dataset.id, dataset.content_hash[:12])
    return dataset


# -- statistics ------------------------------------------------------------------------------------


def _number(value: Any) -> float | int | None:
    value = float(value)
    if not np.isfinite(value):
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (float, np.floating, np.integer)):
        return _number(value)
    return str(value)


def frame_stats(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per column: numeric → ``count, mean, std, min, 25%, 50%, 75%, max``; others → top 20 values.

    Non-finite statistics are ``None``; the top values are ``[[value, count], ...]`` (missing values
    as ``None``), most frequent first.
    """
    import pandas as pd

    out: dict[str, dict[str, Any]] = {}
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            described = series.astype("float64").describe()
            out[column] = {str(k): _number(v) for k, v in described.items()}
        else:
            counts = series.value_counts(dropna=False).head(20)
            out[column] = {
                "top": [[None if pd.isna(k) else _json_value(k), int(v)] for k, v in counts.items()]
            }
    return out


def array_stats(array: np.ndarray) -> dict[str, Any]:
    """``count, mean, std, min, 25%, 50%, 75%, max`` over every finite value of an array."""
    values = np.asarray(array, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"count": 0}
    quartiles = np.percentile(values, [25, 50, 75])
    return {
        "count": int(values.size),
        "mean": _number(values.mean()),
        "std": _number(values.std(ddof=1)) if values.size > 1 else None,
        "min": _number(values.min()),
        "25%": _number(quartiles[0]),
        "50%": _number(quartiles[1]),
        "75%": _number(quartiles[2]),
        "max": _number(values.max()),
    }
