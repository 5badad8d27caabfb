"""Advisors' roles beyond advising, in ``user_roles``: ``lead`` may see the statistics page,
``technician`` the fleet page.

Example::

    >>> from hub.storage import open_database
    >>> db = open_database(":memory:")
    >>> grant_role(db, "lena"); has_role(db, "lena"), has_role(db, "anna")
    (True, False)
"""

from __future__ import annotations

from .storage import Database

from .sessions import end_sessions

LEAD = "lead"
TECHNICIAN = "technician"  # sees the fleet page (hub/fleet_web.py) and acts on booths
#: Every role and what it allows, as `videokiosk hub set-role --help` shows it.
ROLES = {LEAD: "may see the statistics page (/stats)", TECHNICIAN: "may see the fleet page (/fleet) and act on booths"}


def grant_role(db: Database, username: str, role: str = LEAD) -> None:
    with db.transaction():
        if db.execute("INSERT INTO user_roles (username, role) VALUES (?, ?) ON CONFLICT DO NOTHING", [username, role]).rowcount:
            end_sessions(db, username)  # a new role takes effect at the next log-in, on every hub


def revoke_role(db: Database, username: str, role: str = LEAD) -> None:
    with db.transaction():
        if db.execute("DELETE FROM user_roles WHERE username = ? AND role = ?", [username, role]).rowcount:
            end_sessions(db, username)  # and a role taken away stops at once


def has_role(db: Database, username: str, role: str = LEAD) -> bool:
    return bool(db.execute("SELECT 1 FROM user_roles WHERE username = ? AND role = ?", [username, role]).fetchone())
