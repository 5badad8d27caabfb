"""The SQLite files that hold personal data, on booth and hub alike: private, and erased for real.

- :func:`open_private` makes the directory 0700 and the file 0600 before SQLite writes anything
  (SQLite gives the ``-wal`` and ``-shm`` files the main file's mode), turns on WAL and
  ``secure_delete`` (a deleted row's bytes are overwritten with zeros, not left in a free page).
- :func:`erase_now` runs after every withdrawal and purge: a ``TRUNCATE`` checkpoint copies the
  zeroed pages into the main file and cuts the ``-wal`` file to nothing, so the deleted bytes are
  gone from the disk at once, not at the next automatic checkpoint or at shutdown.

Example::

    >>> conn = open_private(":memory:")
    >>> conn.execute("PRAGMA secure_delete").fetchone()
    (1,)
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
SIDE_FILES = ("-wal", "-shm", "-journal")


def open_private(path: Path | str) -> sqlite3.Connection:
    """Connect to ``path`` (created if needed) with private modes, WAL and secure delete."""
    name = str(path)
    if name != ":memory:":
        folder = Path(name).parent
        folder.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        Path(name).touch(mode=FILE_MODE, exist_ok=True)
        make_private(name)
    conn = sqlite3.connect(name, check_same_thread=False)
    conn.execute("PRAGMA secure_delete = ON")
    if name != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
        make_private(name)
    return conn


def make_private(path: Path | str) -> None:
    """Modes 0600 for the database and its side files, 0700 for the folder they are in (if ours)."""
    main = Path(path)
    for file in (main, *(Path(f"{main}{suffix}") for suffix in SIDE_FILES)):
        if file.exists():
            os.chmod(file, FILE_MODE)
    # The folder too, when it is the data's own (not /tmp, not somebody's home directory).
    if main.parent not in (Path("/"), Path.home()) and main.parent.owner() == main.owner() \
            and not main.parent.stat().st_mode & 0o1000:
        os.chmod(main.parent, DIR_MODE)


def erase_now(conn: sqlite3.Connection) -> None:
    """After a delete: the zeroed pages into the main file, the ``-wal`` file cut to nothing."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
