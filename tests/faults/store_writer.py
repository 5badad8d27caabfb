"""A booth store under constant writing, to be SIGKILLed at random points by test_store_kill.

Writes sessions through :class:`appliance.store.BoothStore` exactly as the daemon does (consent,
then customer, then technical fields, each its own transaction) and runs the purge every few
sessions. Every line printed to stdout is printed *after* the write it names has returned, so the
test knows what the store promised to keep. Half the sessions are "old" (their expiry has passed),
so the purge has something to delete.

    store_writer.main("/path/booth.db", "<run-number>")   # in a forked child
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

from appliance.store import BoothStore


class _Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def monotonic(self) -> float:
        return 0.0


def main(path: str, run: str) -> None:
    clock = _Clock()
    store = BoothStore(path, clock=clock)
    say = sys.stdout
    say.write("open\n")
    say.flush()
    for i in range(1_000_000):
        sid = f"r{run}-{i:06d}"
        old = i % 2 == 1
        clock.offset = -timedelta(days=15) if old else timedelta()
        store.record_consent(sid, "de", "sha256:" + "ab" * 32)
        say.write(f"consent {sid} {'old' if old else 'new'}\n")
        say.flush()
        store.record_customer(sid, name=f"Erika {i}", customer_number=f"K{i:08d}")
        say.write(f"customer {sid}\n")
        say.flush()
        store.record_technical(sid, ip_address="127.0.0.1", operating_system="Linux", upload_kbps=4000)
        say.write(f"technical {sid}\n")
        say.flush()
        if i % 4 == 3:
            clock.offset = timedelta()
            cutoff = clock.now()
            store.purge(cutoff)
            say.write(f"purged {cutoff.isoformat()}\n")
            say.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
