"""TFRecords shards of simulations, reference-compatible (spec §7). TensorFlow is imported lazily.

One ``tf.train.Example`` per simulation: ``data`` (bytes: float32, C order, little-endian), ``seed``
(int64, the simulation index); numerical-derivative records also ``derivative`` (0 = minus, 1 = plus)
and ``parameter``. Order: fiducial and gradient-derivative records by seed; numerical derivatives by
seed, then derivative 0→1, then parameter. Files ``{directory}/{name}_{k:05d}.tfrecords``; after each
record, a shard whose byte count exceeds ``record_size``·10⁶ is closed and the next record starts
shard k+1 (no empty shard). Each shard is written to a temporary name and renamed;
``{directory}/manifest.json`` maps each name to ``name, kind, input_shape, n_params, n_sims, dtype,
record_size`` and its ``shards`` (``file, n_records, first_seed, bytes``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core import atomic
from snakelab.core.errors import InputError

KINDS = ("fiducial", "derivative", "numerical_derivative")
#: TFRecord framing per record: length (8) + its CRC (4) + payload + payload CRC (4).
FRAMING = 16


def tensorflow() -> Any:
    """TensorFlow, imported on first use with its C++ info logs silenced."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def _example(
    data: np.ndarray, seed: int, derivative: int | None = None, parameter: int | None = None
) -> bytes:
    tf = tensorflow()
    features = {
        "data": tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[np.ascontiguousarray(data, "<f4").tobytes()])
        ),
        "seed": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(seed)])),
    }
    if derivative is not None:
        features["derivative"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(derivative)]))
        features["parameter"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(parameter)]))
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def _records(kind: str, data: np.ndarray, first_seed: int) -> Iterator[tuple[int, bytes]]:
    if kind == "numerical_derivative":
        n_params = data.shape[2]
        for i in range(data.shape[0]):
            for der in range(2):
                for p in range(n_params):
                    yield first_seed + i, _example(data[i, der, p], first_seed + i, der, p)
    else:
        for i in range(data.shape[0]):
            yield first_seed + i, _example(data[i], first_seed + i)


def write_records(
    directory: str | os.PathLike[str],
    name: str,
    kind: str,
    data: np.ndarray,
    n_params: int | None = None,
    record_size: float = 150.0,
    first_seed: int = 0,
) -> dict[str, Any]:
    """Write ``data`` as shards ``{name}_{k:05d}.tfrecords`` and add ``name`` to the manifest.

    ``kind`` ``fiducial``: data (n, *input); ``derivative`` (gradient mode): data (n, *input, n_params);
    ``numerical_derivative``: data (n, 2, n_params, *input). ``n_params`` is required for derivatives
    (ValueError otherwise). Returns the manifest entry.
    """
    tf = tensorflow()
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    data = np.asarray(data)
    if kind != "fiducial":
        if n_params is None:
            raise ValueError(f"n_params is required for {kind} records")
        got = data.shape[2] if kind == "numerical_derivative" else data.shape[-1]
        if (kind == "numerical_derivative" and (data.ndim < 3 or data.shape[1] != 2)) or got != n_params:
            raise ValueError(f"{kind} data of shape {data.shape} does not hold n_params = {n_params}")
    if kind == "numerical_derivative":
        input_shape = list(data.shape[3:])
    elif kind == "derivative":
        input_shape = list(data.shape[1:-1])
    else:
        input_shape = list(data.shape[1:])
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    limit = record_size * 1e6
    shards: list[dict[str, Any]] = []
    writer = tmp = None
    try:
        for seed, record in _records(kind, data, first_seed):
            if writer is None:
                file = f"{name}_{len(shards):05d}.tfrecords"
                tmp = directory / f".{file}.tmp"
                writer = tf.io.TFRecordWriter(str(tmp))
                shards.append({"file": file, "n_records": 0, "first_seed": seed, "bytes": 0})
            writer.write(record)
            shard = shards[-1]
            shard["n_records"] += 1
            shard["bytes"] += len(record) + FRAMING
            if shard["bytes"] > limit:
                writer.close()
                os.replace(tmp, directory / shard["file"])
                writer = tmp = None
        if writer is not None:
            writer.close()
            os.replace(tmp, directory / shards[-1]["file"])
            writer = tmp = None
    finally:
        if writer is not None:
            writer.close()
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    entry = {
        "name": name,
        "kind": kind,
        "input_shape": input_shape,
        "n_params": n_params,
        "n_sims": int(data.shape[0]),
        "dtype": "float32",
        "record_size": record_size,
        "shards": shards,
    }
    manifest = read_manifest(directory) if (directory / "manifest.json").exists() else {}
    manifest[name] = entry
    atomic.write_text(directory / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return entry


def read_manifest(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """name → manifest entry of a TFRecords directory (InputError when missing)."""
    path = Path(directory) / "manifest.json"
    if not path.exists():
        raise InputError(path, "manifest", "expected the manifest.json written with the TFRecords shards")
    return json.loads(path.read_text())


def entry_of(directory: str | os.PathLike[str], name: str) -> dict[str, Any]:
    """The manifest entry of ``name`` (InputError naming the manifest when absent)."""
    manifest = read_manifest(directory)
    if name not in manifest:
        raise InputError(
            Path(directory) / "manifest.json", name, f"expected a set named {name}, found {sorted(manifest)}"
        )
    return manifest[name]


def record_shape(entry: dict[str, Any]) -> tuple[int, ...]:
    """Shape of one parsed record: input_shape, input_shape + (n_params,) (gradient derivative)."""
    shape = tuple(entry["input_shape"])
    return (*shape, entry["n_params"]) if entry["kind"] == "derivative" else shape


def dataset(directory: str | os.PathLike[str], name: str) -> Any:
    """``tf.data.Dataset`` of float32 arrays, shards in index order, one simulation per element:
    (*input), (*input, n_params) or, for numerical derivatives, (2, n_params, *input)."""
    tf = tensorflow()
    entry = entry_of(directory, name)
    files = [str(Path(directory) / s["file"]) for s in entry["shards"]]
    shape = record_shape(entry)
    spec = {"data": tf.io.FixedLenFeature([], tf.string)}

    def parse(example: Any) -> Any:
        raw = tf.io.parse_single_example(example, spec)["data"]
        return tf.reshape(tf.io.decode_raw(raw, tf.float32, little_endian=True), shape)

    ds = tf.data.TFRecordDataset(files, num_parallel_reads=1).map(parse)
    if entry["kind"] == "numerical_derivative":
        ds = ds.batch(2 * entry["n_params"], drop_remainder=True).map(
            lambda x: tf.reshape(x, (2, entry["n_params"], *shape))
        )
    return ds


def read_array(directory: str | os.PathLike[str], name: str) -> np.ndarray:
    """All simulations of ``name`` as one NumPy array (n_sims, …)."""
    return np.stack(list(dataset(directory, name).as_numpy_iterator()))
