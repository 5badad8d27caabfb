"""The hub's SQLite file, with an explicit schema (sqlite-utils).

Tables:

- ``users``: advisors; only a password hash (argon2), never the password.
- ``booths``: the booth registry; the device token is stored as a SHA-256 hash.
- ``calls``: per call, the consented fields of the booth side and nothing else, each row with
  its ``expires_at`` (14 days at the latest); :func:`purge` deletes what has expired.

Example::

    >>> db = open_db(":memory:")
    >>> sorted(db.table_names())
    ['advisor_sessions', 'booths', 'call_sessions', 'calls', 'users']
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from .storage import Database, open_database


SCHEMA: dict[str, tuple[dict[str, type], str]] = {
    "users": ({"username": str, "password_hash": str, "created_at": str}, "username"),
    # Logged-in advisors (hub/sessions.py): the cookie's hash, never the cookie; gone with the user.
    "advisor_sessions": ({"sid_hash": str, "username": str, "csrf": str, "expires_at": str}, "sid_hash"),
    "booths": (
        {"booth_id": str, "name": str, "location": str, "token_hash": str, "created_at": str, "revoked": int},
        "booth_id",
    ),
    # Exactly the consented fields (DEVELOPERS.md, point 2) plus the expiry; no advisor, no time.
    "calls": (
        {
            "call_id": str,
            "customer_number": str,
            "name": str,
            "ip_address": str,
            "os": str,
            "device": str,
            "browser": str,
            "upload_kbps": float,
            "download_kbps": float,
            "quality": str,
            "expires_at": str,
        },
        "call_id",
    ),
    # Which session a call row belongs to, so a withdrawal after the call deletes it: a hash of
    # booth and session id (the booth names its session, the hash keeps other booths out).
    "call_sessions": ({"call_id": str, "session_hash": str, "expires_at": str}, "call_id"),
}
CALL_FIELDS = frozenset(SCHEMA["calls"][0]) - {"call_id", "expires_at"}


def open_db(path: Path | str) -> Database:
    """Open (creating if needed) the hub's database with its schema."""
    db = open_database(path)
    for name, (columns, pk) in SCHEMA.items():
        db[name].create(columns, pk=pk, if_not_exists=True)
    for name in ("calls", "call_sessions"):
        db[name].create_index(["expires_at"], if_not_exists=True)
    db["advisor_sessions"].create_index(["username"], if_not_exists=True)
    return db


def record_call_fields(db: Database, call_id: str, fields: dict, expires_at: datetime) -> None:
    """Store (or complete) one call's consented fields; anything not consented is dropped here."""
    row = {k: v for k, v in fields.items() if k in CALL_FIELDS and v is not None}
    db["calls"].upsert({"call_id": call_id, "expires_at": expires_at.isoformat(), **row}, pk="call_id")


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
