"""Runs in the booth VM after a power cut (as the daemon's user): is the store whole, and is every
write the last boot acknowledged still there? Prints one ``VK powercut-check ...`` line.

/run/vk-test/acked.txt holds the session ids the last boot reported as acknowledged
(tests/vm/powercut/load.py).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from load import DB, EXPIRED_BATCH  # beside this file on the test disk


def main() -> None:
    acked = Path("/run/vk-test/acked.txt").read_text().split()
    conn = sqlite3.connect(DB)  # opening it recovers the WAL, as the daemon's own open does
    integrity = " ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
    present = {row[0] for table in ("consents", "technical") for row in conn.execute(f"SELECT session_id FROM {table}")}
    missing = [sid for sid in acked if sid not in present]
    # A purge deletes a whole batch of expired rows in one transaction or none of it.
    left = conn.execute("SELECT count(*) FROM consents WHERE session_id LIKE 'cut-old-%'").fetchone()[0]
    print(f"VK powercut-check integrity={integrity.replace(' ', '_')} acked={len(acked)} missing={len(missing)} "
          f"expired-left={left} whole-batches={left % EXPIRED_BATCH == 0}", flush=True)
    for sid in missing[:5]:
        print(f"VK powercut-missing {sid}", flush=True)


if __name__ == "__main__":
    main()
