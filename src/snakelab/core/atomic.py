"""Atomic outputs: write to a temporary name in the target's directory, rename when complete.

A killed job therefore never leaves a file (or directory) that looks finished, and a reader never
sees a half-written one. ``os.replace`` is atomic within one filesystem, which is why the temporary
name lives in the same directory as the target.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temporary_name(target: Path, suffix: str) -> Path:
    """A new empty file next to ``target``, with the permissions a plain ``open`` would give."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    os.chmod(name, 0o666 & ~_umask())
    return Path(name)


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` if the block succeeds.

    The temporary file keeps the target's suffix (``.tmp.h5``), so libraries that sniff the
    extension behave. On any exception the temporary file is removed and ``target`` is untouched.
    Parent directories are created. A symbolic link is followed (the file it points to is
    replaced, not the link), and a target that is not a regular file (a terminal, a named pipe) is
    yielded as it is and written in place: renaming onto it would replace it.

    >>> with atomic_path("out/table.tsv") as tmp:          # doctest: +SKIP
    ...     tmp.write_text("a\\tb\\n")
    """
    target = Path(target)
    try:
        special = not stat.S_ISREG(os.stat(target).st_mode)
    except FileNotFoundError:
        special = False
    if special:
        yield target
        return
    if target.is_symlink():
        target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_name(target, ".tmp" + "".join(target.suffixes[-1:]))
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_directory(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh temporary directory next to ``target``; it replaces ``target`` on success.

    An existing ``target`` directory is removed only once the new one is complete.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            os.replace(target, old / target.name)
            os.replace(tmp, target)
            shutil.rmtree(old)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text(target: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically; return the target path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_bytes(target: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically; return the target path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)
