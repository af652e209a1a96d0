"""Progress bars for long loops, written to the stage's log (see :mod:`snakelab.core.logs`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from snakelab.core.logs import log_stream

T = TypeVar("T")

_enabled = False


def enable_progress(enabled: bool = True) -> None:
    """Turn progress bars on or off for this process (the CLI's ``--progress`` flag)."""
    global _enabled
    _enabled = enabled


def progress_enabled() -> bool:
    """Whether progress bars are on (``--progress``)."""
    return _enabled


def progress(iterable: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate over ``iterable``, drawing a tqdm bar on the log stream when progress is enabled.

    In a log file (not a terminal) the bar is redrawn at most every 10 s, one line per update,
    so logs stay readable.
    """
    if not _enabled:
        yield from iterable
        return
    from tqdm import tqdm

    stream = log_stream()
    interactive = stream.isatty()
    yield from tqdm(
        iterable,
        desc=desc,
        total=total,
        unit=unit,
        file=stream,
        mininterval=0.1 if interactive else 10.0,
        ascii=not interactive,
        dynamic_ncols=interactive,
    )
