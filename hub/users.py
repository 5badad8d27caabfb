"""Advisor accounts: argon2 password hashes; what limits guessing is hub/login_guard.py.

Changing a password or removing an advisor ends the advisor's sessions in the same transaction
(hub/sessions.py), so a removed advisor's open console stops within a second.

Example::

    >>> from hub.storage import open_database
    >>> from videokiosk.clock import FakeClock
    >>> users = UserStore(open_database(":memory:"), FakeClock())
    >>> users.add_user("anna", "correct horse battery")
    >>> users.verify(users.password_hash("anna"), "correct horse battery")
    True
"""

from __future__ import annotations

from .storage import Database
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from videokiosk.clock import Clock

from .errors import DemoAccountError
from .sessions import end_sessions

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"
MIN_PASSWORD_LENGTH = 12
# What else holds an account by its user name (hub/roles.py, hub/sso_accounts.py): it goes with the account.
ACCOUNT_TABLES = ("user_roles", "sso_links")
# Spent on unknown user names too, so a response time does not tell which names exist.
_DUMMY_HASH = PasswordHasher().hash("not a password")


class UserStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._hasher = PasswordHasher()

    def add_user(self, username: str, password: str) -> None:
        """Create an advisor, or set a new password (which logs the advisor out everywhere)."""
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
        self._save(username, password)

    def add_demo_account(self) -> None:
        """The well-known demo/demo login: only `videokiosk demo` calls this."""
        self._save(DEMO_USER, DEMO_PASSWORD)

    def _save(self, username: str, password: str) -> None:
        if not username or len(username) > 64:
            raise ValueError("user name must be 1 to 64 characters")
        with self._db.transaction():
            self._db["users"].upsert(
                {"username": username, "password_hash": self._hasher.hash(password), "created_at": self._clock.now().isoformat()},
                pk="username",
            )
            end_sessions(self._db, username)

    def remove_user(self, username: str) -> bool:
        """Remove the advisor, her roles and directory link, and end her sessions; False if there
        was no such advisor."""
        with self._db.transaction():
            removed = self._db.execute("DELETE FROM users WHERE username = ?", [username]).rowcount
            # Kept "until removed" (videokiosk/register.py): left behind, whoever is given the name
            # next would start with her roles, and the name stay tied to her directory account.
            for table in ACCOUNT_TABLES:
                self._db.execute(f"DELETE FROM {table} WHERE username = ?", [username])
            end_sessions(self._db, username)
        self._db.erase_now()  # her name off the disk at once, and the removal on it before the command ends
        return removed > 0

    def password_hash(self, username: str) -> str | None:
        row = self._db.execute("SELECT password_hash FROM users WHERE username = ?", [username]).fetchone()
        return row[0] if row else None

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored`` (None: no such user, checked against a dummy
        hash all the same). Slow on purpose: run it off the event loop (hub/login_guard.py)."""
        try:
            return self._hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def has_demo_account(self) -> bool:
        return self.verify(self.password_hash(DEMO_USER), DEMO_PASSWORD)

    def refuse_demo_account(self) -> None:
        """A real hub must not run with the well-known demo login."""
        if self.has_demo_account():
            raise DemoAccountError(
                "this hub has the demo account (demo/demo), which only `videokiosk demo` may use: "
                "remove it with `videokiosk hub remove-user demo` or give it another password"
            )
