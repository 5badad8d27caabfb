"""The booth daemon's store, SIGKILLed mid-write 100 times: it opens cleanly every time, no
consented row is lost or half-written, and no purge is skipped.

A writer process (tests/faults/store_writer.py) writes sessions and purges through the real
:class:`appliance.store.BoothStore`; the test kills it at a random line of its output (so at a
random point of the following write), then opens the file and checks it against what the writer
had reported as written.
"""

from __future__ import annotations

import random
import signal
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from appliance.store import BoothStore

from . import store_writer

pytestmark = pytest.mark.slow
KILLS = 100


def _write_until_killed(db: Path, run: int, lines: int) -> list[list[str]]:
    """Fork a writer (the store module is already imported: no interpreter start per kill), read
    ``lines`` of its report, SIGKILL it."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write until killed
        os.close(read_fd)
        sys.stdout = os.fdopen(write_fd, "w")
        try:
            store_writer.main(str(db), str(run))
        finally:
            os._exit(1)
    os.close(write_fd)
    said: list[list[str]] = []
    with os.fdopen(read_fd) as report:
        try:
            for line in report:
                said.append(line.split())
                if len(said) >= lines:
                    break
        finally:
            os.kill(pid, signal.SIGKILL)  # mid-way through whatever write comes next
            os.waitpid(pid, 0)
    assert said and said[0] == ["open"], f"the writer did not start: {said}"
    return said


def test_store_survives_sigkill_during_writes_100_times(tmp_path):
    db = tmp_path / "booth.db"
    rng = random.Random(8)
    kept: dict[str, set[str]] = {"consent": set(), "customer": set(), "technical": set()}
    old: set[str] = set()
    for run in range(KILLS):
        said = _write_until_killed(db, run, rng.randrange(2, 40))
        last_purge = None
        purged: set[str] = set()  # old sessions written before a purge that returned
        for words in said[1:]:
            if words[0] == "purged":
                last_purge = words[1]
                purged |= old & kept["consent"]
                continue
            kept[words[0]].add(words[1])
            if words[0] == "consent" and words[2] == "old":
                old.add(words[1])

        store = BoothStore(db)  # opens cleanly (a StoreError here fails the test)
        try:
            conn = store.db.conn
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            consents = {r["session_id"]: r for r in store.rows("consents")}
            customers = {r["session_id"]: r for r in store.rows("participants")}
            technical = {r["session_id"]: r for r in store.rows("technical")}
            for sid in kept["consent"] - old:  # personal rows not yet expired are never lost
                assert sid in consents, f"run {run}: consent of {sid} lost"
                assert consents[sid]["language"] == "de" and consents[sid]["text_hash"].startswith("sha256:")
            for sid in kept["customer"] - old:
                row = customers[sid]
                assert row["name"].startswith("Erika") and row["customer_number"].startswith("K"), row
            for sid in kept["technical"] - old:
                assert technical[sid]["operating_system"] == "Linux" and technical[sid]["upload_kbps"] == 4000
            for table, rows in (("participants", customers), ("technical", technical)):
                assert set(rows) <= set(consents), f"run {run}: {table} row without its consent"
            if last_purge is not None:  # a purge that returned is durable: nothing it deleted is back
                for table, rows in (("consents", consents), ("participants", customers), ("technical", technical)):
                    back = purged & set(rows)
                    assert not back, f"run {run}: {len(back)} {table} rows survived a finished purge"
            # A purge cut short is simply run again: afterwards nothing expired is left.
            store.purge(datetime.now(timezone.utc))
            assert not old & {r["session_id"] for r in store.rows("consents")}
        finally:
            store.close()
    assert len(kept["consent"] - old) > 100  # the loop really wrote something worth keeping


def test_store_commits_durably(tmp_path):
    """WAL with synchronous=FULL (2): a commit is on disk before the call returns, so a power cut
    (which this test cannot make) loses no consented row either; NORMAL would only keep it consistent."""
    store = BoothStore(tmp_path / "booth.db")
    try:
        assert store.db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        store.close()
