"""The hub's durable state behind one interface (:class:`Database`): SQLite by default, PostgreSQL
for hubs on several machines. No hub module outside this package opens a database.

:func:`open_database` connects and brings the schema up to date (hub/storage/migrations.py).

Example::

    >>> db = open_database(":memory:")
    >>> db.dialect, "calls" in db.table_names()
    ('sqlite', True)
"""

from __future__ import annotations

from pathlib import Path

from .base import Database, NotFoundError, first_column_in
from .migrations import migrate
from .sqlite import SqliteDatabase, adopt_older_file

__all__ = ["Database", "NotFoundError", "first_column_in", "is_postgres_url", "open_database"]


def is_postgres_url(target: Path | str) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


def open_database(target: Path | str) -> Database:
    """The hub database at ``target``: a SQLite file (or ``:memory:``), or a ``postgresql://`` URL."""
    if is_postgres_url(target):
        # Imported only here: psycopg is the optional extra [postgres]; the demo never needs it.
        from .postgres import PostgresDatabase

        db: Database = PostgresDatabase(str(target))
    else:
        db = SqliteDatabase(target)
        adopt_older_file(db)
    migrate(db)
    return db
