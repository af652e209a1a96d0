"""The software environment of a run: Python, key library versions, snakelab version and git commit.

Library versions come from installed distribution metadata, so nothing heavy is imported. Computed
once per process.
"""

from __future__ import annotations

import functools
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

#: record key → distribution names to try, first installed wins.
_DISTRIBUTIONS = {
    "numpy": ("numpy",),
    "pandas": ("pandas",),
    "sklearn": ("scikit-learn",),
    "torch": ("torch",),
    "tensorflow": ("tensorflow-cpu", "tensorflow"),
    "keras": ("keras",),
    "jax": ("jax",),
    "sqlalchemy": ("SQLAlchemy",),
    "snakelab": ("snakelab",),
}


def _version(names: tuple[str, ...]) -> str | None:
    for name in names:
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return None


def git_commit(start: Path) -> str | None:
    """The commit checked out in the git repository containing ``start`` (read from ``.git``), or ``None``."""
    for directory in (start, *start.parents):
        git = directory / ".git"
        if git.is_file():  # a worktree: "gitdir: <path>"
            text = git.read_text().strip()
            if not text.startswith("gitdir:"):
                return None
            git = (directory / text.split(":", 1)[1].strip()).resolve()
        if git.is_dir():
            return _read_head(git)
    return None


def _read_head(git: Path) -> str | None:
    try:
        head = (git / "HEAD").read_text().strip()
    except OSError:
        return None
    if not head.startswith("ref:"):
        return head or None
    ref = head.split(":", 1)[1].strip()
    for base in (git, _common_dir(git)):
        ref_file = base / ref
        if ref_file.is_file():
            return ref_file.read_text().strip()
        packed = base / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[1] == ref:
                    return parts[0]
    return None


def _common_dir(git: Path) -> Path:
    common = git / "commondir"
    return (git / common.read_text().strip()).resolve() if common.is_file() else git


@functools.cache
def environment() -> dict[str, Any]:
    """``{python, numpy, pandas, sklearn, torch, tensorflow, keras, jax, sqlalchemy, snakelab, git_commit}``
    (``None`` for what is not installed)."""
    info: dict[str, Any] = {"python": platform.python_version()}
    for key, names in _DISTRIBUTIONS.items():
        info[key] = _version(names)
    info["git_commit"] = git_commit(Path(__file__).resolve().parent)
    return info
