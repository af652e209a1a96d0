"""Reproducible ``.npz`` files: the same arrays give the same bytes (``numpy.savez`` stamps each member
with the current time), written atomically. Readable with ``numpy.load``."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from snakelab.core import atomic

EPOCH = (1980, 1, 1, 0, 0, 0)


def save(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` (name → array) to ``path`` as an uncompressed npz with fixed member times."""
    with atomic.atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=EPOCH)
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asanyarray(value), allow_pickle=False)
    return Path(path)
