"""``selected_plate`` files: the plate id chosen at a step, ASCII decimal, no trailing newline (spec §2.5)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from snakelab.core.atomic import write_text
from snakelab.core.errors import InputError

_ID = re.compile(r"^-?\d+$")


def read_selected_plate(path: str | os.PathLike[str]) -> int:
    """The plate id in a ``selected_plate`` file (−1: nothing was eligible)."""
    try:
        text = Path(path).read_text(encoding="ascii").strip()
    except UnicodeDecodeError:
        raise InputError(path, "selected_plate", "expected ASCII decimal digits") from None
    if not _ID.match(text) or int(text) < -1:
        raise InputError(path, "selected_plate", f"expected a plate id (integer >= -1), found {text!r}")
    return int(text)


def write_selected_plate(path: str | os.PathLike[str], plate_id: int) -> Path:
    """Write ``plate_id`` atomically, without a trailing newline."""
    return write_text(path, str(int(plate_id)))


def batch_plate_ids(plate_ids: Sequence[int], selected_files: Sequence[str | os.PathLike[str]]) -> list[int]:
    """Plates already in the iteration's batch, from ``--batch-plate-ids`` or ``--batch-selected`` files.

    Files holding −1 (nothing selected) add no plate.
    """
    ids = list(plate_ids) + [read_selected_plate(p) for p in selected_files]
    return [i for i in ids if i >= 0]
