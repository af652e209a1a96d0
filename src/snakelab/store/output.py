"""Printing query results as an aligned table, CSV or JSON (``--format``)."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import pandas as pd


def jsonable(value: Any) -> Any:
    """``value`` with timestamps as ISO 8601 text, NaN/NaT as ``None`` and numpy scalars as Python."""
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _cell(value: Any) -> str:
    if value is None or type(value).__name__ in ("NaTType", "NAType"):
        return "-"
    if isinstance(value, float) and math.isnan(value):
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    text = str(value)
    return "-" if text in ("NaT", "<NA>", "nan") else text


def emit_frame(frame: pd.DataFrame, fmt: str, empty: str = "(none)", stream: TextIO | None = None) -> None:
    """Print ``frame``: ``table`` (aligned; ``empty`` when it has no rows), ``csv`` or ``json`` (records)."""
    out = stream or sys.stdout
    if fmt == "json":
        records = [jsonable(r) for r in frame.to_dict(orient="records")]
        out.write(json.dumps(records, indent=2) + "\n")
    elif fmt == "csv":
        frame.to_csv(out, index=False, date_format="%Y-%m-%dT%H:%M:%S.%f%z")
    elif frame.empty:
        out.write(empty + "\n")
    else:
        rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
        emit_rows([str(c) for c in frame.columns], rows, out)


def emit_rows(header: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """An aligned text table: columns separated by two spaces, numbers not specially aligned."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    for line in [list(header), *rows]:
        out.write(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() + "\n"
        )


def emit_document(doc: Any, fmt: str, stream: TextIO | None = None) -> None:
    """Print a nested document: ``json`` as is; ``csv`` as section,key,value rows; ``table`` as sections."""
    out = stream or sys.stdout
    doc = jsonable(doc)
    if fmt == "json":
        out.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return
    flat = list(_flatten(doc))
    if fmt == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["key", "value"])
        writer.writerows(flat)
        return
    width = max((len(k) for k, _ in flat), default=0)
    for key, value in flat:
        out.write(f"{key.ljust(width)}  {value}\n")


def _flatten(value: Any, prefix: str = "") -> Any:
    if isinstance(value, Mapping) and value:
        for key, sub in value.items():
            yield from _flatten(sub, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        for i, sub in enumerate(value):
            yield from _flatten(sub, f"{prefix}[{i}]")
    else:
        yield prefix, _cell(value)
