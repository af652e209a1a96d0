"""Dataset storage (spec §6): batches streamed by tf.data from TFRecords shards.

Derivative batches: fiducial records 0..n_d−1 zipped with their derivative records; fiducial-only
batches: records n_d..n_s−1. Each pipeline is ``batch(n_devices·n_per_device, drop_remainder=True)`` →
optional ``cache()`` (``cache: none | memory | <file prefix>``) → ``prefetch(AUTOTUNE)`` → ``repeat()``
→ ``as_numpy_iterator()``; order is deterministic and each pass consumes exactly one epoch.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from snakelab.core.errors import InputError
from snakelab.imnn import tfrecords
from snakelab.imnn.aggregated import Batch, BatchSource


def _finish(ds: Any, cache: str, tag: str) -> Any:
    tf = tfrecords.tensorflow()
    if cache == "memory":
        ds = ds.cache()
    elif cache != "none":
        ds = ds.cache(f"{cache}_{tag}")
    return ds.prefetch(tf.data.AUTOTUNE).repeat().as_numpy_iterator()


def tfrecord_source(
    directory: Path,
    fiducial: str,
    derivative: str,
    n_s: int,
    n_d: int,
    batch: int,
    dtype: Any = np.float32,
    cache: str = "memory",
) -> BatchSource:
    """A :class:`BatchSource` over the TFRecords sets ``fiducial`` and ``derivative`` of ``directory``."""
    tf = tfrecords.tensorflow()
    fid = tfrecords.dataset(directory / fiducial, fiducial)
    der = tfrecords.dataset(directory / derivative, derivative)
    pairs = tf.data.Dataset.zip((fid.take(n_d), der)).map(lambda f, d: {"fiducial": f, "derivative": d})
    deriv_it = _finish(pairs.batch(batch, drop_remainder=True), cache, f"{fiducial}_derivative")
    rest_it = None
    if n_s > n_d:
        rest = fid.skip(n_d).map(lambda f: {"fiducial": f})
        rest_it = _finish(rest.batch(batch, drop_remainder=True), cache, f"{fiducial}_rest")
    cast = np.dtype(dtype)

    def take(it: Any, n: int) -> Iterable[Batch]:
        for _ in range(n):
            yield {k: v.astype(cast, copy=False) for k, v in next(it).items()}

    return BatchSource(
        lambda _i: take(deriv_it, n_d // batch),
        lambda _i: take(rest_it, (n_s - n_d) // batch) if rest_it is not None else iter(()),
    )


def check_entry(directory: Path, name: str, section: dict[str, Any], shape: tuple[int, ...], n: int) -> None:
    """The manifest of set ``name`` must match the configured input shape, kind and size."""
    entry = tfrecords.entry_of(directory / name, name)
    where = directory / name / "manifest.json"
    if tuple(entry["input_shape"]) != tuple(shape):
        raise InputError(
            where, f"{name}.input_shape", f"expected {list(shape)}, found {entry['input_shape']}"
        )
    if entry["n_sims"] < n:
        raise InputError(
            where, f"{name}.n_sims", f"expected at least {n} simulations, found {entry['n_sims']}"
        )
    if name.endswith("derivative"):
        kind = "numerical_derivative" if section["mode"] == "numerical" else "derivative"
        if entry["kind"] != kind or entry["n_params"] != len(section["theta_fid"]):
            raise InputError(
                where,
                f"{name}.kind",
                f"expected {kind} records with n_params = "
                f"{len(section['theta_fid'])}, found {entry['kind']} with {entry['n_params']}",
            )


def open_sets(
    section: dict[str, Any], directory: Path, shape: tuple[int, ...], batch: int, dtype: Any
) -> dict[str, BatchSource]:
    """``{"train": …, "validation": …}`` sources of the sets present for this mode."""
    out = {}
    n_s, n_d = section["n_s"], section["n_d"]
    for key, prefix, present in (
        ("train", "", section["mode"] != "simulator"),
        ("validation", "validation_", section["validate"]),
    ):
        if not present:
            continue
        check_entry(directory, f"{prefix}fiducial", section, shape, n_s)
        check_entry(directory, f"{prefix}derivative", section, shape, n_d)
        out[key] = tfrecord_source(
            directory, f"{prefix}fiducial", f"{prefix}derivative", n_s, n_d, batch, dtype, section["cache"]
        )
    return out
