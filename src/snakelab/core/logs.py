"""Logging set-up for CLI stages: messages go to stderr and, in a workflow, to the rule's ``log:`` file.

Snakemake passes the rule's log path as ``--log {log}``; the file is opened in append mode so a
retried job keeps the earlier attempt's messages.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TextIO

_FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_log_stream: TextIO | None = None


class _ConsoleFormatter(logging.Formatter):
    """``error: <message>``: short lines on stderr, the level in lower case."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def setup_logging(log_file: str | os.PathLike[str] | None = None, verbose: bool = False) -> logging.Logger:
    """Configure the ``snakelab`` logger; return it.

    ``log_file``: the rule's log path (parents created, appended to) or ``None`` for stderr only.
    ``verbose``: DEBUG instead of INFO. Calling it again replaces the earlier handlers.
    """
    global _log_stream
    logger = logging.getLogger("snakelab")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(_ConsoleFormatter())
    logger.addHandler(console)
    _log_stream = None
    if log_file is not None:
        path = Path(log_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(path, mode="a", encoding="utf-8")
        file_handler.setFormatter(logging.Formatter(_FILE_FORMAT, datefmt="%Y-%m-%dT%H:%M:%S"))
        logger.addHandler(file_handler)
        _log_stream = file_handler.stream
    return logger


def log_stream() -> TextIO:
    """The stream progress bars write to: the log file when one is set, else stderr."""
    return _log_stream if _log_stream is not None else sys.stderr
