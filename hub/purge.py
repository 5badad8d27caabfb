"""The hub's purge: every personal row past its expiry, in every table that has one, then the
deleted bytes off the disk (videokiosk/datafiles.py). It runs when the hub starts (catching up
after downtime), every ``store.purge_interval_s`` while it runs, and from ``videokiosk hub purge``,
which the systemd timer ``videokiosk-hub-purge.timer`` starts hourly even while the hub is down.

Example::

    >>> from datetime import datetime, timezone
    >>> from hub.db import open_db
    >>> purge_all(open_db(":memory:"), datetime(2026, 3, 2, tzinfo=timezone.utc))["calls"]
    0
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

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


def purge_all(db: Database, now: datetime) -> dict[str, int]:
    """Delete every personal row whose expiry has come; how many went, per kind."""
    present = set(db.table_names())  # a hub that never booked an appointment has no such tables
    counts = {name: purge(db, now) if name in present else 0 for name, purge in PURGERS.items()}
    db.erase_now()
    return counts
