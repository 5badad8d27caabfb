"""Advisors' roles beyond advising, in ``user_roles``: ``lead`` may see the statistics page,
``technician`` the fleet page.

Example::

    >>> from hub.db import open_db
    >>> db = open_db(":memory:")
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
SCHEMA = """
CREATE TABLE IF NOT EXISTS user_roles (
    username TEXT NOT NULL, role TEXT NOT NULL,
    PRIMARY KEY (username, role)
) WITHOUT ROWID;
"""


def ensure_schema(db: Database) -> None:
    db.execute(SCHEMA.strip().rstrip(";"))  # one statement: no commit of anything else


def grant_role(db: Database, username: str, role: str = LEAD) -> None:
    ensure_schema(db)
    with db.transaction():
        if db.execute("INSERT OR IGNORE INTO user_roles (username, role) VALUES (?, ?)", [username, role]).rowcount:
            end_sessions(db, username)  # a new role takes effect at the next log-in, on every hub


def revoke_role(db: Database, username: str, role: str = LEAD) -> None:
    ensure_schema(db)
    with db.transaction():
        if db.execute("DELETE FROM user_roles WHERE username = ? AND role = ?", [username, role]).rowcount:
            end_sessions(db, username)  # and a role taken away stops at once


def has_role(db: Database, username: str, role: str = LEAD) -> bool:
    ensure_schema(db)  # a hub where nobody has a role yet has no table yet
    return bool(db.execute("SELECT 1 FROM user_roles WHERE username = ? AND role = ?", [username, role]).fetchone())
