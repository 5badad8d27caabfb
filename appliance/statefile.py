"""A small state file written whole or not at all, and on the disk before anyone relies on it.

The booth keeps a few records in small files beside its database (the update it asked for, the
count of unclean restarts). Written in place, a power cut between the truncation and the write
leaves an empty file, and a reader at the wrong moment sees one too: an update record read as
empty makes mark-good treat the new slot as an ordinary boot. :func:`write_whole` writes a
temporary file beside it, syncs it, renames it over the old one and syncs the directory: a reader
sees the old text or the new, before and after a power cut.

Example::

    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "update.json"
    >>> write_whole(path, '{"state": "installing"}')
    >>> path.read_text()
    '{"state": "installing"}'
"""

from __future__ import annotations

import os
from pathlib import Path


def write_whole(path: Path, text: str) -> None:
    """Replace ``path``'s content with ``text`` in one step (raises OSError as a write would)."""
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself
    finally:
        os.close(folder)
