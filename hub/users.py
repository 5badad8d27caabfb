"""Advisor accounts: argon2 password hashes and a lockout after repeated failures.

Example::

    >>> from hub.db import open_db
    >>> from videokiosk.clock import FakeClock
    >>> users = UserStore(open_db(":memory:"), FakeClock(), max_failures=5, lockout_s=300)
    >>> users.add_user("anna", "correct horse")
    >>> users.check("anna", "correct horse")
    'anna'
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import sqlite_utils
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from videokiosk.clock import Clock

from .errors import DemoAccountError, LoginError

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"
# Spent on unknown user names too, so a response time does not tell which names exist.
_DUMMY_HASH = PasswordHasher().hash("not a password")


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


class UserStore:
    def __init__(self, db: sqlite_utils.Database, clock: Clock, max_failures: int = 5, lockout_s: float = 300.0) -> None:
        self._db = db
        self._clock = clock
        self._max_failures = max_failures
        self._lockout_s = lockout_s
        self._hasher = PasswordHasher()
        # In memory on purpose: a restart lifting a lockout is harmless, and no log of names piles up.
        self._failures: dict[str, _Failures] = {}

    def add_user(self, username: str, password: str) -> None:
        if not username or len(username) > 64:
            raise ValueError("user name must be 1 to 64 characters")
        if len(password) < 4:
            raise ValueError("password must have at least 4 characters")
        self._db["users"].upsert(
            {"username": username, "password_hash": self._hasher.hash(password), "created_at": self._clock.now().isoformat()},
            pk="username",
        )

    def remove_user(self, username: str) -> None:
        self._db["users"].delete_where("username = ?", [username])

    async def check(self, username: str, password: str) -> str:
        """Return the user name when the password is right; raise :class:`LoginError` otherwise."""
        now = self._clock.monotonic()
        state = self._failures.setdefault(username, _Failures())
        if state.locked_until > now:
            raise LoginError("locked", locked_for_s=state.locked_until - now)
        # Count the attempt before verifying: argon2 runs in a thread, and guesses sent in parallel
        # would otherwise all pass the check above before the first failure is counted.
        if state.count >= self._max_failures:
            raise LoginError("locked", locked_for_s=self._lockout_s)
        state.count += 1
        rows = list(self._db["users"].rows_where("username = ?", [username]))
        stored = rows[0]["password_hash"] if rows else _DUMMY_HASH
        # argon2 takes tens of milliseconds on purpose: keep it off the event loop.
        ok = await asyncio.get_running_loop().run_in_executor(None, self._verify, stored, password) and bool(rows)
        if not ok:
            if state.count >= self._max_failures:
                state.count = 0
                state.locked_until = now + self._lockout_s
                raise LoginError("locked", locked_for_s=self._lockout_s)
            raise LoginError("wrong")
        self._failures.pop(username, None)
        return username

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def has_demo_account(self) -> bool:
        rows = list(self._db["users"].rows_where("username = ?", [DEMO_USER]))
        return bool(rows) and self._verify(rows[0]["password_hash"], DEMO_PASSWORD)

    def refuse_demo_account(self) -> None:
        """A real hub must not run with the well-known demo login."""
        if self.has_demo_account():
            raise DemoAccountError(
                "this hub has the demo account (demo/demo), which only `videokiosk demo` may use: "
                "remove it with `videokiosk hub remove-user demo` or give it another password"
            )
