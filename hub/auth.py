"""Advisor log-in: session cookies, CSRF tokens, and the log-in / log-out endpoints.

The session cookie is HttpOnly and SameSite=Strict (Secure when the hub serves TLS). Every
state-changing request must come from the hub's own origin and carry the session's CSRF token in
the ``X-CSRF-Token`` header (the advisor socket carries it as ``?csrf=``). The log-in itself is
checked by origin, since no session exists yet. Guessing is limited per address and per account
and address, and the password checks are bounded (hub/login_guard.py); sessions live in the
database and end with their advisor (hub/sessions.py).
"""

from __future__ import annotations

import hmac
import json
import math

from .storage import Database
from aiohttp import web

from .clientaddr import client_of
from .errors import LoginError, SsoError
from .login_guard import LoginGuard
from .roles import has_role
from .sessions import AdvisorSession, AdvisorSessions, SocketWatch
from .users import UserStore

COOKIE = "vk_session"
APP_SESSIONS = web.AppKey("advisor_sessions", AdvisorSessions)
APP_ADVISOR_SOCKETS = web.AppKey("advisor_sockets", SocketWatch)
APP_LOGIN_GUARD = web.AppKey("login_guard", LoginGuard)
APP_USERS = web.AppKey("users", UserStore)
APP_ORIGINS = web.AppKey("extra_origins", list)


def same_origin(request: web.Request, extra_origins: list[str] = ()) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:  # non-browser clients (CLI, tests with aiohttp) send none; cookies still needed
        return True
    return origin == f"{request.scheme}://{request.host}" or origin in extra_origins


def current_session(request: web.Request) -> AdvisorSession | None:
    return request.app[APP_SESSIONS].get(request.cookies.get(COOKIE))


def require_role(request: web.Request, db: Database, role: str) -> AdvisorSession:
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
    try:
        username = await request.app[APP_LOGIN_GUARD].check(username, password, client_of(request))
    except LoginError as err:
        if err.locked_for_s:
            wait = math.ceil(err.locked_for_s)
            return web.json_response({"error": str(err), "retry_after_s": wait}, status=429,
                                     headers={"Retry-After": str(wait)})
        return web.json_response({"error": "wrong"}, status=401)
    except SsoError as err:  # the directory's password was right, but: no mapped group, or unreachable
        return web.json_response({"error": err.reason}, status=503 if err.reason == "unavailable" else 403)
    return start_session(request, username)


def start_session(request: web.Request, username: str, response: web.Response | None = None) -> web.Response:
    """Log ``username`` in: a new session and its cookie on ``response`` (by default the user name
    and CSRF token as JSON). Local log-ins and single sign-on alike."""
    cookie, session = request.app[APP_SESSIONS].create(username)
    if response is None:
        response = web.json_response({"username": username, "csrf": session.csrf})
    response.set_cookie(COOKIE, cookie, httponly=True, samesite="Strict", secure=request.secure, path="/")
    return response


async def logout(request: web.Request) -> web.Response:
    session = current_session(request)
    if session is None:
        return web.json_response({"error": "not_logged_in"}, status=401)
    require_csrf(request, session, request.headers.get("X-CSRF-Token"))
    request.app[APP_SESSIONS].drop(session)
    await request.app[APP_ADVISOR_SOCKETS].close_where(lambda sid: sid == session.sid)
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
