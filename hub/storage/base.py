"""What every hub module may ask of the hub's durable state, whichever database holds it.

One parameter style everywhere: ``?`` (and ``:name`` with a dict), as SQLite writes it; the
PostgreSQL backend translates. The SQL itself is the subset both dialects share: ``INSERT ... ON
CONFLICT (...) DO UPDATE/NOTHING`` for upserts, ``excluded.`` for the new values and ``table.column``
for the old ones (a bare column there is ambiguous on PostgreSQL), ISO-8601 text for
every time (so ``expires_at <= ?`` compares the same on both), integers for flags.

The table helpers (``db["calls"].upsert(...)``) are sqlite-utils' names and meanings, the subset the
hub uses; the SQLite backend *is* a ``sqlite_utils.Database``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol

from sqlite_utils.db import NotFoundError  # both backends raise it from ``get`` (re-exported)

Params = Sequence[Any] | dict[str, Any] | None
Dialect = Literal["sqlite", "postgres"]

__all__ = ["IN_CHUNK", "Cursor", "Database", "Dialect", "NotFoundError", "Params", "Table", "first_column_in"]


class Cursor(Protocol):
    rowcount: int
    description: Any

    def fetchone(self) -> tuple | None: ...
    def fetchall(self) -> list[tuple]: ...
    def __iter__(self) -> Iterator[tuple]: ...


class Inserted(Protocol):
    last_pk: Any


class Table(Protocol):
    def insert(self, record: dict[str, Any]) -> Inserted: ...
    def upsert(self, record: dict[str, Any], pk: str | Sequence[str]) -> Any: ...
    def update(self, pk_value: Any, updates: dict[str, Any]) -> Any: ...
    def get(self, pk_value: Any) -> dict[str, Any]: ...
    def rows_where(self, where: str | None = None, where_args: Params = None, order_by: str | None = None,
                   limit: int | None = None) -> Iterator[dict[str, Any]]: ...
    def count_where(self, where: str | None = None, where_args: Params = None) -> int: ...


class Database(Protocol):
    """The hub's durable state: SQLite (hub/storage/sqlite.py) or PostgreSQL (hub/storage/postgres.py)."""

    dialect: Dialect

    def __getitem__(self, table: str) -> Table: ...
    def execute(self, sql: str, parameters: Params = None) -> Cursor: ...
    def executescript(self, sql: str) -> None:
        """Several statements without parameters, in one transaction."""
        ...
    def query(self, sql: str, params: Params = None) -> Iterator[dict[str, Any]]: ...
    def table_names(self) -> list[str]: ...

    def transaction(self) -> AbstractContextManager[Any]:
        """All of the block or nothing of it; commits at its end."""
        ...

    def exclusive(self, name: str, wait: bool = False) -> AbstractContextManager[bool]:
        """True for the one holder of ``name`` across every hub on this database (the purge runs once
        per interval); with ``wait``, waits its turn (schema migrations)."""
        ...

    def after_copy(self) -> None:
        """After rows were copied in with their ids: new rows get ids after them."""
        ...

    def erase_now(self) -> None:
        """After a delete: the deleted bytes off the disk as far as the backend allows."""
        ...

    def close(self) -> None: ...


# Bound parameters in one ``IN (...)``: under SQLite's oldest limit (999), which PostgreSQL's far exceeds.
IN_CHUNK = 500


def first_column_in(db: Database, sql: str, keys: set[str], params: Sequence[Any] = ()) -> set[Any]:
    """The first column of ``sql`` (ending in ``IN``, its other ``?`` filled by ``params``) for every
    key in ``keys``, asked :data:`IN_CHUNK` keys at a time: which of many keys still hold (the socket
    watch's question, hub/sessions.py)."""
    found, ordered = set(), sorted(keys)
    for i in range(0, len(ordered), IN_CHUNK):
        chunk = ordered[i:i + IN_CHUNK]
        found |= {row[0] for row in db.execute(f"{sql} ({','.join('?' * len(chunk))})", [*params, *chunk])}
    return found
