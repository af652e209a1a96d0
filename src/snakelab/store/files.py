"""Files as the store sees them: content hash, size, media type and the path kept in a row.

Paths inside the working directory are stored relative to it (so a results tree can move with its
store); paths outside are stored absolute. Standard library only.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20
#: media types of the formats the pipelines write (``mimetypes`` knows few of them).
_MEDIA_TYPES = {
    ".parquet": "application/vnd.apache.parquet",
    ".h5": "application/x-hdf5",
    ".h5ad": "application/x-hdf5",
    ".hdf5": "application/x-hdf5",
    ".npy": "application/x-npy",
    ".npz": "application/x-npz",
    ".keras": "application/x-keras",
    ".pt": "application/x-pytorch",
    ".joblib": "application/x-joblib",
    ".tfrecord": "application/x-tfrecord",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".zarr": "application/x-zarr",
}


@dataclass(frozen=True)
class FileDigest:
    """A file's stored path, sha256 (hex), size in bytes and media type."""

    path: str
    sha256: str
    size_bytes: int
    media_type: str


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of the file's bytes (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def stored_path(path: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None) -> str:
    """``path`` as kept in the store: relative to ``cwd`` (default: the working directory) when inside it."""
    absolute = Path(os.path.abspath(path))
    base = Path(os.path.abspath(cwd or os.getcwd()))
    try:
        return absolute.relative_to(base).as_posix()
    except ValueError:
        return absolute.as_posix()


def media_type(path: str | os.PathLike[str]) -> str:
    """The media type of a file from its suffix (``application/octet-stream`` when unknown)."""
    suffix = Path(path).suffix.lower()
    if suffix in _MEDIA_TYPES:
        return _MEDIA_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(str(path), strict=False)
    return guessed or "application/octet-stream"


def digest_file(path: str | os.PathLike[str], what: str = "file") -> FileDigest:
    """Hash ``path`` and describe it; a missing or non-regular file raises ``FileNotFoundError``.

    ``what`` names the role in the error message (``input 'screen'``).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(2, f"{what}: expected an existing regular file", str(path))
    return FileDigest(stored_path(p), sha256_file(p), p.stat().st_size, media_type(p))


def resolve_stored(path: str, root: str | os.PathLike[str] | None = None) -> Path:
    """The file a stored path names; relative paths start at ``root`` (default: the working directory)."""
    p = Path(path)
    return p if p.is_absolute() else Path(root or os.getcwd()) / p
