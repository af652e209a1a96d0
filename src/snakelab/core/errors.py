"""The one error type a CLI stage reports as a single line: file, field, expectation."""

from __future__ import annotations

from os import PathLike


class InputError(ValueError):
    """A user-supplied file or value is not what a stage expects.

    The CLI prints ``error: <path>: <field>: <expected>`` on one line and exits with status 2.

    Parameters
    ----------
    path:
        The file (or config file) that holds the offending value; ``None`` for command-line values.
    field:
        The dataset, column, key or option that is wrong.
    expected:
        What was expected, and ideally what was found ("expected f8 of shape (12,), found int64").
    """

    def __init__(self, path: str | PathLike[str] | None, field: str, expected: str) -> None:
        self.path = None if path is None else str(path)
        self.field = field
        self.expected = expected
        where = f"{self.path}: " if self.path is not None else ""
        super().__init__(f"{where}{field}: {expected}")
