"""Idempotent, race-free registration: ``INSERT … ON CONFLICT DO NOTHING`` then ``SELECT``.

Two processes registering the same natural key at the same moment end with one row, and both get
it back. The statements are written as SQL text (the ``ON CONFLICT`` syntax is the same on SQLite
≥ 3.24 and PostgreSQL) with typed parameters, so SQLAlchemy caches their compiled form; its
dialect-specific ``insert().on_conflict_*()`` constructs are recompiled on every call (≈1.5 ms
each for a wide table), which dominated the cost of a lineage unit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

M = TypeVar("M")


def _table(model: type[Any] | Table) -> Table:
    return model if isinstance(model, Table) else model.__table__


def _quote(session: Session, name: str) -> str:
    return session.get_bind().dialect.identifier_preparer.quote(name)


def with_defaults(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` completed with the Python-side column defaults (``created_at``, ``version``, …)."""
    out = dict(values)
    for column in table.columns:
        if column.name in out or column.default is None or column.primary_key:
            continue
        default: Any = column.default
        if default.is_scalar:
            out[column.name] = default.arg
        elif default.is_callable:
            out[column.name] = default.arg(None)
    return out


@functools.lru_cache(maxsize=256)
def _statement(
    quoted_table: str,
    table_key: str,
    columns: tuple[str, ...],
    quoted: tuple[str, ...],
    conflict: tuple[str, ...],
    update: tuple[str, ...],
    returning: str | None,
) -> TextClause:
    from snakelab.store.models import Base

    table = Base.metadata.tables[table_key]
    names = dict(zip(columns, quoted, strict=True))
    sql = (
        f"INSERT INTO {quoted_table} ({', '.join(quoted)}) "
        f"VALUES ({', '.join(':' + c for c in columns)}) ON CONFLICT"
    )
    if update:
        assignments = ", ".join(f"{names[c]} = excluded.{names[c]}" for c in update)
        sql += f" ({', '.join(names[c] for c in conflict)}) DO UPDATE SET {assignments}"
    else:
        sql += " DO NOTHING"
    if returning is not None:
        sql += f" RETURNING {returning}"
    return text(sql).bindparams(*(bindparam(c, type_=table.c[c].type) for c in columns))


def _insert_sql(
    session: Session,
    table: Table,
    columns: Sequence[str],
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
    returning: str | None = None,
) -> TextClause:
    quoted = tuple(_quote(session, c) for c in columns)
    for name in (*conflict, *update):
        if name not in columns:
            raise ValueError(f"{table.name}.{name}: named in the conflict/update columns but not inserted")
    return _statement(
        _quote(session, table.name),
        table.name,
        tuple(columns),
        quoted,
        tuple(conflict),
        tuple(update),
        returning,
    )


def insert_ignore(session: Session, model: type[Any] | Table, values: Mapping[str, Any]) -> bool:
    """Insert one row unless it conflicts with a unique key; return whether it was inserted."""
    return insert_returning_id(session, model, values) is not None


def insert_returning_id(session: Session, model: type[Any] | Table, values: Mapping[str, Any]) -> int | None:
    """Insert one row unless it conflicts with a unique key; its new ``id``, or ``None`` on conflict."""
    table = _table(model)
    row = with_defaults(table, values)
    statement = _insert_sql(session, table, sorted(row), returning=_quote(session, "id"))
    return session.execute(statement, row).scalar()


def get_or_create_id(
    session: Session, model: type[Any], key: Mapping[str, Any], values: Mapping[str, Any] | None = None
) -> tuple[int, bool]:
    """``(id, created)`` of the row of ``model`` with natural ``key``, inserted with ``values`` if new."""
    new_id = insert_returning_id(session, model, {**(values or {}), **key})
    if new_id is not None:
        return new_id, True
    query = select(model.id).filter_by(**key)
    return session.scalars(query).one(), False


def get_or_create(
    session: Session, model: type[M], key: Mapping[str, Any], values: Mapping[str, Any] | None = None
) -> tuple[M, bool]:
    """The row of ``model`` with natural ``key`` (a unique key's columns), inserted with ``values`` if new.

    Returns ``(row, created)``. An existing row is returned unchanged (``values`` are not applied).
    """
    row_id, created = get_or_create_id(session, model, key, values)
    row = session.get(model, row_id)
    assert row is not None
    return row, created


def upsert(
    session: Session,
    model: type[Any] | Table,
    rows: Sequence[Mapping[str, Any]],
    key: Iterable[str],
    update: Iterable[str],
) -> None:
    """Insert ``rows``; where a row's ``key`` columns (a unique key) already exist, overwrite ``update``.

    Every row must have the same columns. ``updated_at`` is refreshed on overwritten rows.
    """
    if not rows:
        return
    table = _table(model)
    completed = [with_defaults(table, row) for row in rows]
    columns = sorted(completed[0])
    update_columns = [*update, *(["updated_at"] if "updated_at" in table.c else [])]
    statement = _insert_sql(session, table, columns, conflict=tuple(key), update=tuple(update_columns))
    session.execute(statement, completed)
