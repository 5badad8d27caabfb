"""Moving an office's hub from one database to another (SQLite to PostgreSQL, say): every row of
every table, each with its ``expires_at``, in one transaction on the target; then the row counts
compared. ``videokiosk hub copy-database`` is the command.

Example::

    >>> from hub.storage import open_database
    >>> source, target = open_database(":memory:"), open_database(":memory:")
    >>> _ = source["calls"].insert({"call_id": "c-1", "expires_at": "2026-03-16T00:00:00+00:00"})
    >>> copy_database(source, target)["calls"]
    1
"""

from __future__ import annotations

from ..errors import StorageError
from .base import Database

SKIP = {"schema_version"}  # the target has its own, from its own migrations


def copy_database(source: Database, target: Database) -> dict[str, int]:
    """Table -> rows copied. The target must be migrated and hold no rows yet."""
    tables = [t for t in source.table_names() if t not in SKIP]
    missing = [t for t in tables if t not in target.table_names()]
    if missing:
        raise StorageError(f"the target database has no table {', '.join(missing)}: is it the same release's schema?")
    busy = [t for t in tables if target[t].count_where()]
    if busy:
        raise StorageError(f"the target database already holds rows in {', '.join(busy)}: copy into an empty one")
    copied: dict[str, int] = {}
    with target.transaction():
        for table in tables:
            copied[table] = 0
            for row in source[table].rows_where():
                target[table].insert(row)
                copied[table] += 1
        target.after_copy()
    short = {t: n for t, n in copied.items() if target[t].count_where() != n}
    if short:
        raise StorageError(f"row counts differ after the copy: {short}")
    return copied
