"""One-time enrolment codes: how a freshly flashed booth gets its device credential.

An admin registers the booth (``videokiosk hub add-booth``) and makes a code for it
(``videokiosk hub enrolment-code --booth jc-halle-1``). The technician types the code on the booth
(``videokiosk enrol --hub URL --code CODE``); the booth sends it with the public half of a key pair
it made itself, signed by the private half, to ``POST /api/enrol`` and gets a fresh device token.
Issuing that token revokes the booth's previous one, so re-enrolling a booth locks out the old SD
card.

Codes are easy to type (Crockford base32: no I, L, O, U; dashes, spaces and case do not matter),
work once, and expire after 24 hours. The hub stores only their SHA-256 hash.

Example::

    >>> from hub.storage import open_database
    >>> from hub.registry import BoothRegistry
    >>> from videokiosk.clock import FakeClock
    >>> db, clock = open_database(":memory:"), FakeClock()
    >>> registry = BoothRegistry(db)
    >>> _ = registry.create_booth("jc-halle-1", "Halle 1", "Musterstadt")
    >>> codes = EnrolmentCodes(db, registry, clock)
    >>> code = codes.create("jc-halle-1")
    >>> len(code), code[4]
    (9, '-')
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from .storage import Database
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from provisioning.protocol import ENROL_PATH, normalise_code, signed_message
from videokiosk.clock import Clock

from .errors import HubError, UnknownBooth
from .backoff import Backoff, Failures
from .clientaddr import client_of
from .registry import Booth, BoothRegistry

log = logging.getLogger(__name__)

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
CODE_LENGTH = 8  # 40 bits: guessing one in 24 hours against the guess back-off (hub/backoff.py) is hopeless
CODE_TTL = timedelta(hours=24)

# Ed25519 public keys of small order (libsodium's list, sign bit ignored): with one of them a
# signature "verifies" without any private key, so it proves nothing and is refused.
_SMALL_ORDER_KEYS = frozenset(bytes.fromhex(h) for h in (
    "00" * 32,
    "01" + "00" * 31,
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "ec" + "ff" * 30 + "7f",
    "ed" + "ff" * 30 + "7f",
    "ee" + "ff" * 30 + "7f",
))


class EnrolmentError(HubError):
    """A code was wrong, used, expired, or the request was malformed. ``reason`` is for machines."""

    def __init__(self, message: str, reason: str, status: int = 400) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Enrolment:
    booth: Booth
    token: str


def _hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


class EnrolmentCodes:
    def __init__(self, db: Database, registry: BoothRegistry, clock: Clock) -> None:
        self._db = db
        self._registry = registry
        self._clock = clock

    @property
    def clock(self) -> Clock:
        return self._clock

    def create(self, booth_id: str) -> str:
        """A new code for a registered booth, shown as ``XXXX-XXXX``."""
        self._registry.get(booth_id)  # UnknownBooth names the fix
        raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        now = self._clock.now()
        self._db["enrolment_codes"].insert(
            {"code_hash": _hash(raw), "booth_id": booth_id, "created_at": now.isoformat(),
             "expires_at": (now + CODE_TTL).isoformat(), "used_at": None},
        )
        log.info("enrolment: code created for booth %s", booth_id)
        return f"{raw[:4]}-{raw[4:]}"

    def expires_at(self, code: str) -> datetime:
        row = self._db["enrolment_codes"].get(_hash(code))
        return datetime.fromisoformat(row["expires_at"])

    def _redeem(self, code: str) -> str:
        """Mark the code used, atomically; returns its booth id or says why it cannot be used."""
        code_hash, now = _hash(code), self._clock.now().isoformat()
        with self._db.transaction():
            cursor = self._db.execute(
                "UPDATE enrolment_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?",
                [now, code_hash, now],
            )
        rows = list(self._db["enrolment_codes"].rows_where("code_hash = ?", [code_hash]))
        if cursor.rowcount == 1:
            return rows[0]["booth_id"]
        if not rows:
            raise EnrolmentError("this enrolment code is not known to the hub: check it for typos", "unknown_code", 404)
        if rows[0]["used_at"]:
            raise EnrolmentError("this enrolment code was already used: ask the hub admin for a new one", "used", 410)
        raise EnrolmentError("this enrolment code has expired (codes last 24 hours): ask for a new one", "expired", 410)

    def enrol(self, code: str, public_key: bytes, signature: bytes) -> Enrolment:
        """Exchange a code for a new device token; the booth's previous token stops working."""
        if len(public_key) == 32 and public_key[:31] + bytes([public_key[31] & 0x7F]) in _SMALL_ORDER_KEYS:
            raise EnrolmentError("the booth's public key is a weak (small-order) key", "bad_key")
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(signature, signed_message(code, public_key))
        except (ValueError, InvalidSignature):
            raise EnrolmentError("the booth's key signature does not match its public key", "bad_signature") from None
        booth_id = self._redeem(code)
        try:
            booth = self._registry.get(booth_id)
        except UnknownBooth:
            raise EnrolmentError(f"booth {booth_id!r} was removed from the hub after the code was made",
                                 "unknown_booth", 404) from None
        token = self._registry.issue_token(booth_id)
        self._db["booth_keys"].upsert(
            {"booth_id": booth_id, "public_key": base64.b64encode(public_key).decode(),
             "enrolled_at": self._clock.now().isoformat()},
            pk="booth_id",
        )
        log.info("enrolment: booth %s enrolled; its previous token is revoked", booth_id)
        return Enrolment(booth, token)


# --- HTTP ----------------------------------------------------------------------------------------

APP_ENROLMENT = web.AppKey("enrolment", EnrolmentCodes)


def _b64(payload: dict, key: str) -> bytes:
    value = payload.get(key)
    if not isinstance(value, str) or len(value) > 200:
        raise EnrolmentError(f"the request needs {key!r} (base64)", "malformed")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise EnrolmentError(f"{key!r} is not valid base64", "malformed") from None


def add_enrolment_routes(app: web.Application, codes: EnrolmentCodes, failures: Failures) -> None:
    """``POST /api/enrol`` with JSON ``{code, public_key, signature}`` -> ``{booth, token}``;
    wrong codes are counted in ``failures`` (shared by every hub: hub/backoff.py)."""
    guesses = Backoff.for_guesses(failures, "enrolment")  # per client address
    app[APP_ENROLMENT] = codes

    async def enrol(request: web.Request) -> web.Response:
        client = client_of(request)
        wait = math.ceil(guesses.wait_s(client))
        if wait > 0:
            return web.json_response({"error": "too many wrong enrolment codes from this address; please wait",
                                      "reason": "rate_limited", "retry_after_s": wait}, status=429,
                                     headers={"Retry-After": str(wait)})
        try:
            try:
                payload = await request.json()
            except ValueError:
                raise EnrolmentError("the request body is not JSON", "malformed") from None
            if not isinstance(payload, dict) or not isinstance(payload.get("code"), str):
                raise EnrolmentError("the request needs 'code'", "malformed")
            result = codes.enrol(payload["code"][:64], _b64(payload, "public_key"), _b64(payload, "signature"))
        except EnrolmentError as exc:
            if exc.reason in ("unknown_code", "used", "expired"):
                guesses.failed(client)
            return web.json_response({"error": str(exc), "reason": exc.reason}, status=exc.status)
        booth = result.booth
        return web.json_response(
            {"booth": {"id": booth.booth_id, "name": booth.name, "location": booth.location}, "token": result.token}
        )

    app.router.add_post(ENROL_PATH, enrol)
