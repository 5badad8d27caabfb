"""Advisor sessions in the hub's database, checked on every request and every open socket.

A session is a row in ``advisor_sessions`` (the SHA-256 of the cookie, never the cookie itself),
valid while it has not expired *and its advisor still exists*. Removing an advisor, changing a
password or a role deletes the advisor's sessions in the same transaction as the change
(:func:`end_sessions`), whichever process makes it: the CLI, another hub behind the same load
balancer, this one. Every request looks its session up, so the next request after a change is
refused. The sockets already open are closed by :class:`SocketWatch`: at once when the change is
announced on the shared state's ``sessions_ended`` channel (:func:`announce_sessions_ended`,
which the CLI sends after its commit; with Redis it reaches every hub), and otherwise at the
watch's next check against the database (``auth.session_check_s``), which catches an
announcement lost on the way. The announcement carries nothing but "check now": no name, no
session; the database says whose sessions ended.

Sessions live in the same database as the users table (the one every hub process of an office
shares: SQLite, or PostgreSQL for hubs on several machines) so that a session can never outlive
its user, not even for one request.

Example::

    >>> from hub.storage import open_database
    >>> from videokiosk.clock import FakeClock
    >>> db = open_database(":memory:")
    >>> _ = db["users"].insert({"username": "anna", "password_hash": "x", "created_at": ""})
    >>> sessions = AdvisorSessions(db, FakeClock(), ttl_s=3600)
    >>> cookie, s = sessions.create("anna")
    >>> sessions.get(cookie).username
    'anna'
    >>> end_sessions(db, "anna")
    1
    >>> sessions.get(cookie) is None
    True
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from .storage import Database, first_column_in
from aiohttp import web

from videokiosk.clock import Clock

from .errors import DATABASE_UNAVAILABLE
from .state import SharedState

log = logging.getLogger(__name__)
SESSIONS_ENDED = "sessions_ended"  # the shared-state channel: some sessions ended, check the open sockets now
_VALID = ("SELECT s.sid_hash, s.username, s.csrf FROM advisor_sessions s JOIN users u ON u.username = s.username "
          "WHERE s.expires_at > ?")


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("utf-8")).hexdigest()


def end_sessions(db: Database, username: str) -> int:
    """Log ``username`` out everywhere (their open sockets close within a second); call it in
    the transaction that removes the advisor or changes a password or role."""
    return db.execute("DELETE FROM advisor_sessions WHERE username = ?", [username]).rowcount


async def announce_sessions_ended(state: SharedState) -> None:
    """After the commit that ended sessions: every hub sharing ``state`` checks its open consoles now."""
    await state.publish(SESSIONS_ENDED, "")


@dataclass(frozen=True)
class AdvisorSession:
    sid: str  # the cookie's hash: what the database and the socket watch know it by
    username: str
    csrf: str


class AdvisorSessions:
    def __init__(self, db: Database, clock: Clock, ttl_s: float) -> None:
        self._db = db
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_s)

    def create(self, username: str) -> tuple[str, AdvisorSession]:
        """A new session; returns the cookie value (only its hash is stored) and the session."""
        cookie = secrets.token_urlsafe(32)
        session = AdvisorSession(_hash(cookie), username, secrets.token_urlsafe(24))
        now = self._clock.now()
        with self._db.transaction():
            self._db.execute("DELETE FROM advisor_sessions WHERE expires_at <= ?", [now.isoformat()])
            self._db.execute("INSERT INTO advisor_sessions VALUES (?, ?, ?, ?)",
                             [session.sid, username, session.csrf, (now + self._ttl).isoformat()])
        return cookie, session

    def get(self, cookie: str | None) -> AdvisorSession | None:
        if not cookie:
            return None
        row = self._db.execute(_VALID + " AND s.sid_hash = ?", [self._clock.now().isoformat(), _hash(cookie)]).fetchone()
        return AdvisorSession(*row) if row else None

    def drop(self, session: AdvisorSession) -> None:
        with self._db.transaction():
            self._db.execute("DELETE FROM advisor_sessions WHERE sid_hash = ?", [session.sid])

    def valid_among(self, sids: set[str]) -> set[str]:
        """Which of these sessions still hold (for the socket watch)."""
        return first_column_in(self._db, _VALID + " AND s.sid_hash IN", sids, [self._clock.now().isoformat()])


class SocketWatch:
    """Closes open sockets whose grant has ended: an advisor's session, a guest's pass.

    Each socket is registered with a key and the watch asks ``still_valid(keys)`` (one query for
    all of them) every ``interval_s``, and at once when :meth:`wake` is called (a change was
    announced): a change made by another process shows up within that.
    """

    def __init__(self, still_valid: Callable[[set[str]], set[str]], interval_s: float = 0.25) -> None:
        self._still_valid = still_valid
        self._interval_s = interval_s
        self._sockets: dict[web.WebSocketResponse, str] = {}
        self._task: asyncio.Task | None = None
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """Check now, not at the next interval (announced: some grants ended)."""
        self._woken.set()

    def add(self, ws: web.WebSocketResponse, key: str) -> None:
        self._sockets[ws] = key
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def discard(self, ws: web.WebSocketResponse) -> None:
        self._sockets.pop(ws, None)

    def holds(self, key: str) -> bool:
        """Whether ``key``'s grant still holds; a database that cannot say now counts as yes (the
        sweep asks again within ``interval_s`` for the sockets still open)."""
        try:
            return key in self._still_valid({key})
        except DATABASE_UNAVAILABLE as exc:  # locked, or PostgreSQL away for a moment
            log.warning("socket watch: could not check a closed socket's grant, the database is unavailable: %s", exc)
            return True

    async def close_where(self, predicate: Callable[[str], bool]) -> None:
        """Close at once the sockets whose key matches (a log-out on this hub)."""
        for ws, key in list(self._sockets.items()):
            if predicate(key):
                self._sockets.pop(ws, None)
                await ws.close()

    async def sweep(self) -> None:
        if not self._sockets:
            return
        valid = self._still_valid(set(self._sockets.values()))
        await self.close_where(lambda key: key not in valid)

    async def _run(self) -> None:
        try:
            while self._sockets:
                try:  # the interval between checks, cut short by an announcement
                    await asyncio.wait_for(self._woken.wait(), self._interval_s)
                except asyncio.TimeoutError:
                    pass
                self._woken.clear()
                try:
                    await self.sweep()
                except DATABASE_UNAVAILABLE as exc:  # locked, or PostgreSQL away: again next round
                    log.warning("socket watch: could not check the open sockets, the database is unavailable: %s", exc)
                except Exception:
                    log.exception("socket watch: could not check the open sockets")
        finally:
            self._task = None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
