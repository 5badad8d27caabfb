"""The embedded backend: one SQLite file per hub (the default; ``make demo`` needs nothing else).

It is a ``sqlite_utils.Database`` on a private, WAL, secure-delete connection
(videokiosk/datafiles.py), with the few calls of :class:`hub.storage.base.Database` added.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
import sqlite3

import sqlite_utils

from videokiosk.datafiles import erase_now, open_private


class SqliteDatabase(sqlite_utils.Database):
    dialect = "sqlite"

    def __init__(self, path: Path | str) -> None:
        # Built on one thread (CLI, demo, tests), used on the event loop's: never two at once.
        super().__init__(open_private(path))
        if str(path) != ":memory:":
            # WAL + NORMAL: a commit costs no fsync (durable at checkpoint); a power cut may lose the
            # last call row, never corrupt the file. Keeps the admit path free of disk waits.
            self.execute("PRAGMA synchronous=NORMAL")

    def transaction(self) -> sqlite3.Connection:
        return self.conn  # sqlite3's own: commit at the end of the block, roll back on an error

    def executescript(self, sql: str) -> None:
        self.conn.executescript(sql)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        yield True  # one file, one machine: hubs sharing it repeat a purge at worst, which is harmless

    def erase_now(self) -> None:
        erase_now(self.conn)
