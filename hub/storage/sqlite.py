"""The embedded backend: one SQLite file per hub (the default; ``make demo`` needs nothing else).

It is a ``sqlite_utils.Database`` on a private, WAL, secure-delete connection
(videokiosk/datafiles.py), with the few calls of :class:`hub.storage.base.Database` added.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
import secrets
import sqlite3
import threading

import sqlite_utils

from videokiosk.datafiles import erase_now, open_private
from videokiosk.surveypool import rename_day_to_week

from .migrations import known, render


class SqliteDatabase(sqlite_utils.Database):
    dialect = "sqlite"

    def __init__(self, path: Path | str) -> None:
        # Built on one thread (CLI, demo, tests), used on the event loop's.
        super().__init__(open_private(path))
        self._blocks = threading.RLock()  # transaction(): one block at a time, nested ones inside it
        self._depth = 0
        if str(path) != ":memory:":
            # WAL + NORMAL: a commit costs no fsync (durable at checkpoint); a power cut may lose the
            # last call row, never corrupt the file. Keeps the admit path free of disk waits.
            self.execute("PRAGMA synchronous=NORMAL")

    @contextmanager
    def transaction(self) -> Iterator["SqliteDatabase"]:
        """All of the block or nothing of it. Not ``with conn:``: sqlite-utils 4 commits each write
        of ``execute`` at once when no transaction is open, so that block would keep half of a
        failed one. BEGIN IMMEDIATE takes the write lock up front: a second hub process on the file
        waits for it (busy timeout) instead of failing half-way; nested, a savepoint.

        One block at a time on this connection, whichever thread opens it (the hub uses it from the
        event loop; a CLI command or a test may write from another thread meanwhile): a block on
        another thread would otherwise take the loop's open transaction for its own and end it."""
        with self._blocks:
            self._depth += 1
            try:
                if self._depth > 1 or self.conn.in_transaction:
                    with self._savepoint():
                        yield self
                    return
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                except BaseException:
                    self.conn.rollback()
                    raise
                self.conn.commit()
            finally:
                self._depth -= 1

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        savepoint = f"vk_{secrets.token_hex(8)}"
        self.conn.execute(f"SAVEPOINT {savepoint}")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:  # an error may have ended the whole transaction already
                self.conn.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                self.conn.execute(f"RELEASE SAVEPOINT {savepoint}")
            raise
        self.conn.execute(f"RELEASE SAVEPOINT {savepoint}")

    def executescript(self, sql: str) -> None:
        """All of it or none: sqlite3's own executescript commits first, then runs statement by statement."""
        try:
            self.conn.executescript(f"BEGIN;\n{sql}\n;COMMIT;")
        except sqlite3.Error:
            if self.conn.in_transaction:
                self.conn.rollback()
            raise

    @contextmanager
    def exclusive(self, name: str, wait: bool = False) -> Iterator[bool]:
        yield True  # one file, one machine: hubs sharing it repeat a purge at worst, which is harmless

    def after_copy(self) -> None:
        """Nothing: an INTEGER PRIMARY KEY continues after the highest id by itself."""

    def erase_now(self) -> None:
        erase_now(self.conn)


def adopt_older_file(db: SqliteDatabase) -> None:
    """A hub file from before migrations: its tables are what the baseline creates, less what was
    added later (then by sqlite-utils' ``transform``). Bring them level before the baseline runs."""
    present = set(db.table_names())
    if "schema_version" in present or not present:
        return
    rename_day_to_week(db.conn, "stats_survey")
    reference = SqliteDatabase(":memory:")  # the baseline's tables, to compare with
    reference.executescript(render(known()[0].sql, "sqlite"))
    for table in present & set(reference.table_names()):
        have = db[table].columns_dict
        for column, type_ in reference[table].columns_dict.items():
            if column not in have:
                db[table].add_column(column, type_)
