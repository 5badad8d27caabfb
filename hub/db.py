"""The calls' consented fields in the hub database (tables: hub/storage/migrations).

- ``users``: advisors; only a password hash (argon2), never the password.
- ``booths``: the booth registry; the device token is stored as a SHA-256 hash.
- ``calls``: per call, the consented fields of the booth side and nothing else, each row with
  its ``expires_at`` (14 days at the latest); :func:`purge` deletes what has expired.

Example::

    >>> from hub.storage import open_database
    >>> from datetime import datetime, timezone
    >>> db = open_database(":memory:")
    >>> record_call_fields(db, "c-1", {"quality": "good", "secret": "x"}, datetime(2026, 3, 2, tzinfo=timezone.utc))
    >>> db["calls"].get("c-1")["quality"]
    'good'
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from rtc.protocol import CUSTOMER_FIELDS

from .storage import Database

# Exactly the consented fields (DEVELOPERS.md, point 2); the table: hub/storage/migrations.
CALL_FIELDS = frozenset({*CUSTOMER_FIELDS, "ip_address", "os", "device", "browser", "upload_kbps", "download_kbps",
                         "quality"})


def record_call_fields(db: Database, call_id: str, fields: dict, expires_at: datetime) -> None:
    """Store (or complete) one call's consented fields; anything not consented is dropped here."""
    row = {k: v for k, v in fields.items() if k in CALL_FIELDS and v is not None}
    db["calls"].upsert({"call_id": call_id, "expires_at": expires_at.isoformat(), **row}, pk="call_id")


def name_call(db: Database, call_id: str, customer: dict, expires_at: datetime) -> dict:
    """The customer's details as they waited, on the admitted call's row. Details amended after
    the admit that got there first (:func:`amend_customer`) are newer and stay. Returns what the
    row holds."""
    given = [customer.get(k) for k in CUSTOMER_FIELDS]
    values = [call_id, expires_at.isoformat(), *given]
    inserted = db.execute(f"INSERT INTO calls (call_id, expires_at, {', '.join(CUSTOMER_FIELDS)}) "
                          f"VALUES ({', '.join('?' for _ in values)}) ON CONFLICT (call_id) DO NOTHING", values).rowcount
    # Read back only when the amended row was there first: otherwise it holds what was just given.
    return dict(zip(CUSTOMER_FIELDS, given)) if inserted else call_customer(db, call_id)


def amend_customer(db: Database, call_id: str, changes: dict, expires_at: datetime) -> dict:
    """The customer's own details, changed after the admit (typed as the advisor let them in): the
    call's row takes them, a cleared one cleared as in the waiting room; returns what it holds now."""
    row = {k: v for k, v in changes.items() if k in CUSTOMER_FIELDS}
    db["calls"].upsert({"call_id": call_id, "expires_at": expires_at.isoformat(), **row}, pk="call_id")
    return call_customer(db, call_id)


def call_customer(db: Database, call_id: str) -> dict:
    """The customer's name and number on the call's row (None for either not given)."""
    row = next(iter(db["calls"].rows_where("call_id = ?", [call_id])), {})
    return {k: row.get(k) for k in CUSTOMER_FIELDS}


def session_hash(booth_id: str, session_id: str) -> str:
    return hashlib.sha256(f"{booth_id}/{session_id}".encode("utf-8")).hexdigest()


def link_call(db: Database, call_id: str, booth_id: str, session_id: str, expires_at: datetime) -> None:
    """Remember whose call ``call_id`` is, for a withdrawal after the call (as long as its row)."""
    db["call_sessions"].upsert({"call_id": call_id, "session_hash": session_hash(booth_id, session_id),
                                "expires_at": expires_at.isoformat()}, pk="call_id")


def forget_session(db: Database, booth_id: str, session_id: str) -> int:
    """Consent withdrawn: the call rows of that booth's session go at once, from the disk too."""
    with db.transaction():
        where = "call_id IN (SELECT call_id FROM call_sessions WHERE session_hash = ?)"
        key = [session_hash(booth_id, session_id)]
        gone = db.execute(f"DELETE FROM calls WHERE {where}", key).rowcount
        db.execute(f"DELETE FROM call_sessions WHERE {where}", key)
    db.erase_now()
    return gone


def purge(db: Database, now: datetime) -> int:
    """Delete every call row past its expiry, in one transaction; returns how many went."""
    with db.transaction():
        cursor = db.execute("DELETE FROM calls WHERE expires_at <= ?", [now.isoformat()])
        db.execute("DELETE FROM call_sessions WHERE expires_at <= ?", [now.isoformat()])
    db.erase_now()
    return cursor.rowcount
