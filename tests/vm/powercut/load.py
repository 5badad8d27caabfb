"""Runs in the booth VM (as the daemon's user, with the booth's venv): writes to the booth's store in
a loop and reports each write the store acknowledged (its transaction committed) as ``VK ack ID``
on the test agent's serial line, until the host pulls the plug (SIGKILL on qemu).

    load.py consent   consent records, one transaction each (what "I agree" writes)
    load.py call      what a call writes: its consent, the technical record and the day's counters
    load.py purge     50 rows past their expiry and one live consent, then the 14-day purge of
                      those 50 (``VK begin purge`` just before it: the host cuts the power then)

The guest deletes 50 rows in milliseconds, far less than the host needs to see ``begin purge`` and
pull the plug: the first 21 cuts all landed after the purge had committed (2 Dec 2026). So the
purge's statements are stretched here (a pause every few SQLite opcodes, PURGE_STRETCH): the
host's random delay after ``begin purge`` then lands inside the DELETEs, at their commit or in the
checkpoint after it. The store's code is the booth's; only its pace is the test's.
"""

from __future__ import annotations

import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

from appliance.store import BoothStore
from videokiosk.clock import FakeClock

DB = "/var/lib/videokiosk/booth.db"
EXPIRED_BATCH = 50  # tests/vm/powercut/check.py: a purge is all or nothing
# During the purge: a pause of this many seconds every this many SQLite opcodes (a few seconds in all).
PURGE_STRETCH = (0.01, 20)


def say(*words: object) -> None:
    print("VK", *words, flush=True)


def main(mode: str) -> None:
    store = BoothStore(DB)
    past = BoothStore(DB, clock=FakeClock(datetime.now(timezone.utc) - timedelta(days=15)))
    say("load-running", mode)
    for n in range(1, 100_000):
        sid = f"cut-{mode}-{n}-{uuid.uuid4().hex[:8]}"
        if mode == "consent":
            store.record_consent(sid, "de", "0" * 64)
        elif mode == "call":
            store.record_consent(sid, "de", "0" * 64)  # a call's rows hang off its consent
            store.record_technical(sid, upload_kbps=900 + n, download_kbps=1800, transmission_quality="good")
            store.bump_stats(datetime.now(timezone.utc).date(), calls=1, call_s_total=60)
        else:
            with past.db.conn:
                past.db["consents"].insert_all(
                    {"session_id": f"cut-old-{n}-{i}-{sid[-8:]}", "consented_at": "2000-01-01T00:00:00.000000Z",
                     "text_hash": "0" * 64, "language": "de", "expires_at": "2000-01-15T00:00:00.000000Z"}
                    for i in range(EXPIRED_BATCH))
            store.record_consent(sid, "de", "0" * 64)
        say("ack", sid)
        if mode == "purge":
            pause, every = PURGE_STRETCH
            store.db.conn.set_progress_handler(lambda: time.sleep(pause) or 0, every)  # 0: go on
            say("begin purge", n)
            purged = store.purge(datetime.now(timezone.utc))
            store.db.conn.set_progress_handler(None, 0)
            say("purged", purged)


if __name__ == "__main__":
    main(sys.argv[1])
