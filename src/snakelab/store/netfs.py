"""Refuse SQLite databases on network filesystems, where POSIX/WAL locking is unreliable.

The filesystem type comes from ``/proc/self/mountinfo`` (the mount with the longest mount point
that contains the database's directory).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from snakelab.store.errors import NetworkFilesystemError

#: filesystem type prefixes (after an optional ``fuse.``) that SQLite must not be used on.
NETWORK_FS_PREFIXES = ("nfs", "lustre", "gpfs", "cifs", "smb", "beegfs", "ceph")
_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape(field: str) -> str:
    """Undo mountinfo's octal escapes (``\\040`` is a space)."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def filesystem_of(path: str | os.PathLike[str], mountinfo: str | None = None) -> tuple[str, str] | None:
    """``(fstype, mount point)`` of the mount holding ``path``; ``None`` when mountinfo is unavailable.

    ``path`` need not exist (symbolic links in its existing part are followed). ``mountinfo``: the
    text of ``/proc/self/mountinfo`` (read when ``None``).
    """
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return None
    target_str = os.path.realpath(os.path.abspath(path))
    best: tuple[str, str] | None = None
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        parts = left.split()
        if not sep or len(parts) < 5 or not right.split():
            continue
        mount_point = _unescape(parts[4])
        inside = target_str == mount_point or target_str.startswith(mount_point.rstrip("/") + "/")
        if inside and (best is None or len(mount_point) >= len(best[1])):
            best = (right.split()[0], mount_point)
    return best


def is_network_fs(fstype: str) -> bool:
    """Whether ``fstype`` (e.g. ``nfs4``, ``fuse.ceph``, ``lustre``) is a network filesystem."""
    return fstype.removeprefix("fuse.").startswith(NETWORK_FS_PREFIXES)


def check_local_filesystem(
    db_path: str | os.PathLike[str], allow: bool, mountinfo: str | None = None
) -> None:
    """Raise :class:`NetworkFilesystemError` if ``db_path`` is on a network filesystem and not ``allow``."""
    if allow:
        return
    found = filesystem_of(db_path, mountinfo)
    if found is not None and is_network_fs(found[0]):
        fstype, mount_point = found
        raise NetworkFilesystemError(
            f"{db_path}: SQLite store on a {fstype} filesystem (mounted at {mount_point}), where file "
            "locking is unsafe; use a postgresql:// store URL, or set store.allow_network_fs: true"
        )
