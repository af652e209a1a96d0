"""The declarative base: constraint naming convention and the columns every table has (spec §3).

Every table has ``id`` (integer primary key), ``created_at``/``updated_at`` (UTC), ``name``
(nullable), ``description`` and ``is_starred``. No column holds binary objects: large things are
files, and rows keep their path, sha256 and size.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import BigInteger, Boolean, MetaData, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from snakelab.store.types import JSONType, UTCDateTime, utcnow

#: deterministic constraint names, so migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: length of a sha256 hex digest.
SHA256 = 64


class Base(DeclarativeBase):
    """Declarative base of every store table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        Any: JSONType,
        datetime: UTCDateTime(),
        str: String(),
    }


class Common:
    """The columns shared by every table (mixed into each model)."""

    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-100)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    is_starred: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


def sha256_column(nullable: bool = True) -> Mapped[Any]:
    """A hex sha256 column (64 characters)."""
    return mapped_column(String(SHA256), nullable=nullable)


def path_column(nullable: bool = True) -> Mapped[Any]:
    """A file path column (relative to the working directory when inside it)."""
    return mapped_column(Text, nullable=nullable)


def big_int(nullable: bool = True) -> Mapped[Any]:
    """A 64-bit integer column (byte counts, uint32 seeds)."""
    return mapped_column(BigInteger, nullable=nullable)


def one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL text of a CHECK constraint: ``column`` is one of ``values``."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"
