"""The booth registry: which booths exist and their device tokens.

A device token is 32 random bytes (URL-safe base64); the hub keeps only its SHA-256 hash, so a
leaked database does not let anyone pose as a booth. A plain hash is enough here because the token
is random, unlike a password. Enrolment (``hub/enrolment.py``) calls :meth:`BoothRegistry.issue_token`.

Example::

    >>> from hub.storage import open_database
    >>> reg = BoothRegistry(open_database(":memory:"))
    >>> token = reg.create_booth("jc-halle-1", "Halle 1", "Musterstadt")
    >>> reg.verify(token).booth_id
    'jc-halle-1'
    >>> reg.revoke("jc-halle-1"); reg.verify(token) is None
    True
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from rtc.protocol import BOOTH_ID_PATTERN, BOOTH_ID_RULE, BOOTH_TEXT_MAX

from .storage import Database, first_column_in

from .errors import InvalidBooth, UnknownBooth


@dataclass(frozen=True)
class Booth:
    booth_id: str
    name: str
    location: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class BoothRegistry:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create_booth(self, booth_id: str, name: str, location: str, token: str | None = None) -> str:
        """Register (or re-register) a booth and return its new device token."""
        if not re.fullmatch(BOOTH_ID_PATTERN, booth_id):
            # Refused here, not at the booth: there the enrolment code would be spent on a config
            # the booth cannot start with.
            raise InvalidBooth(f"booth id {booth_id!r} is not allowed: {BOOTH_ID_RULE}")
        for what, text in (("name", name), ("location", location)):
            if not 1 <= len(text) <= BOOTH_TEXT_MAX:  # the booth's config takes no other
                raise InvalidBooth(f"the booth's {what} must be 1 to {BOOTH_TEXT_MAX} characters")
        token = token or new_token()
        self._db["booths"].upsert(
            {
                "booth_id": booth_id,
                "name": name,
                "location": location,
                "token_hash": hash_token(token),
                "created_at": datetime.now(timezone.utc).isoformat(),
                "revoked": 0,
            },
            pk="booth_id",
        )
        return token

    def issue_token(self, booth_id: str) -> str:
        """A fresh token for a registered booth; the old one stops working at once."""
        self.get(booth_id)
        token = new_token()
        self._db["booths"].update(booth_id, {"token_hash": hash_token(token), "revoked": 0})
        return token

    def revoke(self, booth_id: str) -> None:
        self.get(booth_id)
        self._db["booths"].update(booth_id, {"revoked": 1})

    def get(self, booth_id: str) -> Booth:
        rows = list(self._db["booths"].rows_where("booth_id = ?", [booth_id]))
        if not rows:
            raise UnknownBooth(f"no booth {booth_id!r} is registered (see `videokiosk hub add-booth`)")
        return Booth(rows[0]["booth_id"], rows[0]["name"], rows[0]["location"])

    def verify(self, token: str) -> Booth | None:
        """The booth this token belongs to, or None (unknown, revoked or empty token)."""
        if not token:
            return None
        wanted = hash_token(token)
        for row in self._db["booths"].rows_where("token_hash = ? AND revoked = 0", [wanted]):
            if hmac.compare_digest(row["token_hash"], wanted):
                return Booth(row["booth_id"], row["name"], row["location"])
        return None

    def valid_among(self, token_hashes: set[str]) -> set[str]:
        """Which of these tokens (their hashes) still open a booth socket: not revoked, not replaced
        by enrolling again (the socket watch, hub/sessions.py, closes the others' connections)."""
        return first_column_in(self._db, "SELECT token_hash FROM booths WHERE revoked = 0 AND token_hash IN", token_hashes)

    def all(self) -> list[Booth]:
        return [Booth(r["booth_id"], r["name"], r["location"]) for r in self._db["booths"].rows_where("revoked = 0")]
