"""Advisor log-in: session cookies, CSRF tokens, and the log-in / log-out endpoints.

The session cookie is HttpOnly and SameSite=Strict (Secure when the hub serves TLS). Every
state-changing request must come from the hub's own origin and carry the session's CSRF token in
the ``X-CSRF-Token`` header (the advisor socket carries it as ``?csrf=``). The log-in itself is
checked by origin, since no session exists yet. Failed log-ins lock the account for a while
(:class:`~hub.users.UserStore`).

Example::

    >>> from videokiosk.clock import FakeClock
    >>> sessions = AdvisorSessions(FakeClock(), ttl_s=3600)
    >>> s = sessions.create("anna")
    >>> sessions.get(s.sid).username
    'anna'
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass, field

import sqlite_utils
from aiohttp import web

from videokiosk.clock import Clock

from .errors import LoginError
from .roles import has_role
from .users import UserStore

COOKIE = "vk_session"
APP_SESSIONS = web.AppKey("advisor_sessions", "AdvisorSessions")
APP_USERS = web.AppKey("users", UserStore)
APP_ORIGINS = web.AppKey("extra_origins", list)


@dataclass
class AdvisorSession:
    sid: str
    username: str
    csrf: str
    expires: float
    sockets: set = field(default_factory=set)


class AdvisorSessions:
    def __init__(self, clock: Clock, ttl_s: float) -> None:
        self._clock = clock
        self._ttl_s = ttl_s
        self._sessions: dict[str, AdvisorSession] = {}

    def create(self, username: str) -> AdvisorSession:
        session = AdvisorSession(secrets.token_urlsafe(32), username, secrets.token_urlsafe(24),
                                 self._clock.monotonic() + self._ttl_s)
        self._sessions[session.sid] = session
        return session

    def get(self, sid: str | None) -> AdvisorSession | None:
        session = self._sessions.get(sid or "")
        if session is None:
            return None
        if session.expires < self._clock.monotonic():
            self._sessions.pop(session.sid, None)
            return None
        return session

    def drop(self, sid: str) -> AdvisorSession | None:
        return self._sessions.pop(sid, None)


def same_origin(request: web.Request, extra_origins: list[str] = ()) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:  # non-browser clients (CLI, tests with aiohttp) send none; cookies still needed
        return True
    return origin == f"{request.scheme}://{request.host}" or origin in extra_origins


def current_session(request: web.Request) -> AdvisorSession | None:
    return request.app[APP_SESSIONS].get(request.cookies.get(COOKIE))


def require_role(request: web.Request, db: sqlite_utils.Database, role: str) -> AdvisorSession:
    """The logged-in session of someone with ``role``; 401 without a log-in, 403 without the role."""
    session = current_session(request)
    if session is None:
        raise web.HTTPUnauthorized(text='{"error": "not_logged_in"}', content_type="application/json")
    if not has_role(db, session.username, role):
        raise web.HTTPForbidden(text=json.dumps({"error": f"not_{role}"}), content_type="application/json")
    return session


def require_csrf(request: web.Request, session: AdvisorSession, token: str | None) -> None:
    if not same_origin(request, request.app[APP_ORIGINS]) or not hmac.compare_digest(token or "", session.csrf):
        raise web.HTTPForbidden(text='{"error": "csrf"}', content_type="application/json")


async def login(request: web.Request) -> web.Response:
    if not same_origin(request, request.app[APP_ORIGINS]):
        raise web.HTTPForbidden(text='{"error": "csrf"}', content_type="application/json")
    try:
        body = await request.json()
        username, password = str(body["username"])[:64], str(body["password"])[:256]
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": "malformed"}, status=400)
    users = request.app[APP_USERS]
    try:
        await users.check(username, password)
    except LoginError as err:
        if err.locked_for_s:
            return web.json_response({"error": "locked", "retry_after_s": round(err.locked_for_s)}, status=429)
        return web.json_response({"error": "wrong"}, status=401)
    session = request.app[APP_SESSIONS].create(username)
    response = web.json_response({"username": username, "csrf": session.csrf})
    response.set_cookie(COOKIE, session.sid, httponly=True, samesite="Strict", secure=request.secure, path="/")
    return response


async def logout(request: web.Request) -> web.Response:
    session = current_session(request)
    if session is None:
        return web.json_response({"error": "not_logged_in"}, status=401)
    require_csrf(request, session, request.headers.get("X-CSRF-Token"))
    request.app[APP_SESSIONS].drop(session.sid)
    for ws in list(session.sockets):
        await ws.close()
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE, path="/")
    return response


async def me(request: web.Request) -> web.Response:
    session = current_session(request)
    if session is None:
        return web.json_response({"error": "not_logged_in"}, status=401)
    return web.json_response({"username": session.username, "csrf": session.csrf})


def add_auth_routes(app: web.Application) -> None:
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/me", me)
