"""Accounts that single sign-on creates: the same ``users`` row and sessions as a local login.

An office's directory (OIDC provider or LDAP) says who someone is and which groups they are in;
this module turns that into a hub account on every sign-in:

- the account is linked to its source and the directory's stable id (``sso_links``), so a
  directory user can never take over a local account or another source's account of the same
  name (refused as ``conflict``);
- its password hash is a mark no password matches: nobody logs in locally as an SSO account,
  and the hub never stores an LDAP password;
- its roles (hub/roles.py) are set from the groups at each sign-in; no mapped group means no
  entry, and the account's open sessions end at once (group taken away in the directory).

Ending access at once without waiting for the next sign-in is `videokiosk hub remove-user`, as for
local accounts: the row, its roles, its link and its sessions go; the next sign-in is decided by the
directory again.

Example::

    >>> from hub.storage import open_database
    >>> from videokiosk.clock import FakeClock
    >>> accounts = SsoAccounts(open_database(":memory:"), FakeClock())
    >>> accounts.admit(SsoIdentity("oidc", "sub-17", "lena"), {"advisor", "lead"})
    'lena'
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


from videokiosk.clock import Clock

from .storage import Database
from .errors import SsoError
from .roles import LEAD, TECHNICIAN, grant_role, has_role, revoke_role
from .sessions import end_sessions

# Not an argon2 hash: UserStore.verify answers False for it, whatever the password.
SSO_PASSWORD_MARK = "!sso"


@dataclass(frozen=True)
class SsoIdentity:
    source: str  # "oidc" or "ldap"
    subject: str  # the directory's stable id: the ID token's sub, the LDAP entry's DN
    username: str  # what the hub shows and keys sessions, roles and appointments by


def username_ok(username: str) -> bool:
    """1 to 64 characters, none of them a control or format character (bidi marks)."""
    return 0 < len(username) <= 64 and not any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in username)


def is_directory_account(stored_hash: str | None) -> bool:
    """No local account by that name, or one single sign-on made: the directory decides."""
    return stored_hash is None or stored_hash == SSO_PASSWORD_MARK


class SsoAccounts:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def admit(self, identity: SsoIdentity, roles: set[str]) -> str:
        """The account's user name, its row and roles brought up to date; :class:`SsoError`
        ``no_role`` (and its sessions ended) without a mapped role, ``conflict`` when the name is
        another account's."""
        if not username_ok(identity.username):
            raise SsoError("conflict", f"{identity.source}: the directory's user name is not usable here")
        with self._db.transaction():
            linked = self._db.execute("SELECT source, subject FROM sso_links WHERE username = ?",
                                      [identity.username]).fetchone()
            stored = self._db.execute("SELECT password_hash FROM users WHERE username = ?",
                                      [identity.username]).fetchone()
            if linked is not None and tuple(linked) != (identity.source, identity.subject):
                raise SsoError("conflict", f"{identity.source}: the user name belongs to another directory account")
            if stored is not None and stored[0] != SSO_PASSWORD_MARK:  # never a local account
                raise SsoError("conflict", f"{identity.source}: a local account has the same user name")
            if not roles:
                if linked is not None:
                    end_sessions(self._db, identity.username)  # taken out of every mapped group
            else:
                self._link(identity, stored is None)
        if not roles:  # refused after the commit: an error inside the block would undo the ended sessions
            raise SsoError("no_role", f"{identity.source}: no group of this account is mapped to a role")
        for role in (LEAD, TECHNICIAN):  # each change ends older sessions (hub/roles.py): taken at once
            if (role in roles) != has_role(self._db, identity.username, role):
                (grant_role if role in roles else revoke_role)(self._db, identity.username, role)
        return identity.username

    def _link(self, identity: SsoIdentity, new: bool) -> None:
        """The account's row (``new``: none yet) and its link to the directory's account, in the
        caller's transaction."""
        # A renamed directory account: its old name's sessions end, the link moves to the new name.
        for (old,) in self._db.execute("SELECT username FROM sso_links WHERE source = ? AND subject = ? "
                                       "AND username != ?", [identity.source, identity.subject,
                                                             identity.username]).fetchall():
            self._db.execute("DELETE FROM sso_links WHERE username = ?", [old])
            end_sessions(self._db, old)
        if new:
            self._db.execute("INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?)",
                             [identity.username, SSO_PASSWORD_MARK, self._clock.now().isoformat()])
        # ON CONFLICT DO NOTHING, not SQLite's OR IGNORE: the spelling PostgreSQL shares (storage/base.py).
        self._db.execute("INSERT INTO sso_links (username, source, subject) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                         [identity.username, identity.source, identity.subject])
