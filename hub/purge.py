"""The hub's purge: every personal row past its expiry, in every table that has one, then the
deleted bytes off the disk (videokiosk/datafiles.py). It runs when the hub starts (catching up
after downtime), every ``store.purge_interval_s`` while it runs, and from ``videokiosk hub purge``,
which the systemd timer ``videokiosk-hub-purge.timer`` starts hourly even while the hub is down.

Example::

    >>> from datetime import datetime, timezone
    >>> from hub.storage import open_database
    >>> purge_all(open_database(":memory:"), datetime(2026, 3, 2, tzinfo=timezone.utc))["calls"]
    0
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from .storage import Database

from .appointments import purge_appointments
from .db import purge as purge_calls
from .guest import purge_guest_consents
from .guest_passes import purge_guest_passes
from .outbox import purge_outbox

Purger = Callable[[Database, datetime], int]
# Name -> what deletes it; the order keeps rows that point at others (passes, mails) first.
PURGERS: dict[str, Purger] = {
    "calls": purge_calls,
    "guest_consents": purge_guest_consents,
    "guest_passes": purge_guest_passes,
    "mail_outbox": purge_outbox,
    "appointments": purge_appointments,
}


def purge_if_due(db: Database, now: datetime, interval_s: float) -> dict[str, int] | None:
    """The purge once per interval across every hub on this database: under a lock (one hub at a
    time), and only if no hub has run it within the interval. None: not this hub's turn."""
    with db.exclusive("purge") as mine:
        if not mine:
            return None
        last = db.execute("SELECT last_run_at FROM task_runs WHERE name = 'purge'").fetchone()
        if last is not None and now < datetime.fromisoformat(last[0]) + timedelta(seconds=interval_s):
            return None
        counts = purge_all(db, now)
        db.execute("INSERT INTO task_runs (name, last_run_at) VALUES ('purge', ?) ON CONFLICT (name) "
                   "DO UPDATE SET last_run_at = excluded.last_run_at", [now.isoformat()])
        return counts


def purge_all(db: Database, now: datetime) -> dict[str, int]:
    """Delete every personal row whose expiry has come; how many went, per kind."""
    present = set(db.table_names())  # a hub that never booked an appointment has no such tables
    counts = {name: purge(db, now) if name in present else 0 for name, purge in PURGERS.items()}
    db.erase_now()
    return counts
