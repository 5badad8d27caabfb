"""The hub's durable state behind one interface (:class:`Database`): SQLite by default, PostgreSQL
for hubs on several machines. No hub module outside this package opens a database.

Example::

    >>> db = open_database(":memory:")
    >>> db.dialect
    'sqlite'
"""

from __future__ import annotations

from pathlib import Path

from .base import Database, NotFoundError
from .sqlite import SqliteDatabase

__all__ = ["Database", "NotFoundError", "open_database"]


def open_database(path: Path | str) -> Database:
    """The database at ``path`` (a SQLite file, or ``:memory:``)."""
    return SqliteDatabase(path)
