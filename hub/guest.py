"""Joining from home: the personal link opens the kiosk pages in the customer's own browser.

``<public_url>/join#<token>`` serves the kiosk's ``index.html`` with ``kiosk_ui/browser.js``, which
plays the booth daemon's part in the browser (consent, device check with the browser's camera and
microphone, waiting room, call as the WebRTC peer, survey). The hub's side:

- ``POST /api/join {token}``: checks the link (too early, expired, cancelled, unknown: a guesser
  is slowed down per address) and, if good, sets an HttpOnly, SameSite=Strict cookie for this participant (its
  pass, valid until the appointment is over);
- ``POST /api/join/consent {session_id, language}``: records the consent (time, text version hash,
  language) before anything else, with the 14-day expiry;
- ``POST /api/join/withdraw {session_id}``: deletes that session's rows at once;
- ``GET /api/join/pass``: whether the cookie's pass still holds (``pass_lost`` 401, ``expired`` or
  ``cancelled`` 410): passes live in the hub's SQLite (hub/guest_passes.py), so a hub restart does
  not log anybody out;
- ``GET /ws/guest`` (cookie): the booth protocol (docs/protocol.md) as a "virtual booth"
  ``home-<participant>`` whose location is ``home`` and name the participant's role. The hub adds
  the IP address; operating system, device and browser come from the User-Agent header, nothing else.

Example::

    >>> parse_user_agent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
    {'os': 'Linux', 'device': 'Computer', 'browser': 'Chrome 120'}
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .storage import Database
from aiohttp import web

from kiosk_ui import I18N_DIR, STATIC_DIR
from rtc import protocol as p
from videokiosk.retention import expiry

from .appointments import AppointmentError
from .appointments_web import APP_DESK, AppointmentDesk, admission_json, error_json
from .auth import same_origin
from .clientaddr import client_of
from .groupcall import GroupCalls, guest_booth_id
from .guest_passes import GuestPass, GuestPasses, KeptPass, PassRefused
from .guest_surveys import SurveyAllowances
from .registry import Booth
from .sessions import SocketWatch
from .sockets import APP_HUB, serve_booth

COOKIE = "vk_guest"
HOME = "home"
# Consent records one link may leave (a new one per page load: reloads and rejoins, never hundreds).
MAX_CONSENTS_PER_PARTICIPANT = 20
_BROWSERS = [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Version/", "Safari")]


def parse_user_agent(ua: str) -> dict[str, str]:
    """Operating system, kind of device and browser (with major version): the consented fields."""
    ua = ua[:512]
    os_name = next((name for pattern, name in [("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iOS"),
                                               ("iPad", "iPadOS"), ("CrOS", "ChromeOS"), ("Mac OS X", "macOS"),
                                               ("Linux", "Linux")] if pattern in ua), "other")
    device = "Tablet" if "iPad" in ua or ("Android" in ua and "Mobile" not in ua) else (
        "Smartphone" if "Mobile" in ua or "iPhone" in ua else "Computer")
    browser = "other"
    for marker, name in _BROWSERS:
        match = re.search(re.escape(marker) + r"(\d+)", ua)
        if match:
            browser = f"{name} {match.group(1)}"
            break
    return {"os": os_name, "device": device, "browser": browser}


def consent_hash(language: str) -> str:
    """The version hash of the consent text the page showed (the same text and rule as the booth's)."""
    path = I18N_DIR / f"{language}.json"
    text = json.loads(path.read_text("utf-8"))["consent"]
    canonical = json.dumps(text, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _home_booth(participant_id: str, role: str = "") -> Booth:
    """The "virtual booth" a participant at home is to the hub (named by their role, if known)."""
    return Booth(guest_booth_id(participant_id), role, HOME)


def _booth_for(guest: GuestPass) -> Booth:
    participant = guest.admission.participant
    return _home_booth(participant.participant_id, participant.role)


async def _body(request: web.Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text='{"error": "not JSON", "reason": "invalid"}', content_type="application/json") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"error": "not an object", "reason": "invalid"}', content_type="application/json")
    return body


def add_guest_routes(app: web.Application, groups: GroupCalls, passes: GuestPasses, surveys: SurveyAllowances,
                     watch: SocketWatch) -> None:
    """``/join`` and its API; ``surveys``: one answer per call; ``watch`` closes a pass's open
    sockets within a second once its appointment is changed, cancelled or over."""
    desk: AppointmentDesk = app[APP_DESK]
    db: Database = desk.db
    page = (STATIC_DIR / "index.html").read_text("utf-8").replace(
        '<script type="module" src="/static/app.js">',
        '<script type="module" src="/static/browser.js"></script>\n<script type="module" src="/static/app.js">', 1)

    def guest(request: web.Request, check: Callable[[str | None], Any] = passes.check) -> Any:
        """The request's pass, if ``check`` takes it (a pass whose link still opens, by default)."""
        try:
            if not same_origin(request):
                raise PassRefused("open the link from your invitation again", "pass_lost")
            return check(request.cookies.get(COOKIE))
        except PassRefused as exc:  # 401: open the link again; 410: over or cancelled. The page says which.
            error = web.HTTPUnauthorized if exc.reason == "pass_lost" else web.HTTPGone
            raise error(text=json.dumps({"error": str(exc), "reason": exc.reason}), content_type="application/json") from None

    async def join_page(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})

    async def join(request: web.Request) -> web.Response:
        body = await _body(request)
        try:
            admission = desk.book.admit_token(str(body.get("token", "")), client=client_of(request))  # per address: slows the guesser
        except AppointmentError as exc:
            return error_json(exc)
        response = web.json_response(admission_json(admission))
        response.set_cookie(COOKIE, passes.issue(admission), httponly=True, samesite="Strict",
                            secure=request.secure, path="/")
        return response

    async def consent(request: web.Request) -> web.Response:
        found, body = guest(request), await _body(request)
        session_id, language = str(body.get("session_id", ""))[:64], body.get("language")
        # The pattern before the file: a language of any length or character never reaches the disk.
        if not re.fullmatch(r"[A-Za-z0-9_-]{4,64}", session_id) or not re.fullmatch(r"[a-z]{2}", str(language)) \
                or not (I18N_DIR / f"{language}.json").is_file():
            return web.json_response({"error": "session_id and language needed", "reason": "invalid"}, status=400)
        now, participant_id = desk.clock.now(), found.admission.participant.participant_id
        given = db.execute("SELECT COUNT(*) FROM guest_consents WHERE participant_id = ? AND session_id != ?",
                           [participant_id, session_id]).fetchone()[0]
        if given >= MAX_CONSENTS_PER_PARTICIPANT:  # one link is one person, not a row generator
            return web.json_response({"error": "too many consents for this link; open it again later",
                                      "reason": "too_many"}, status=429)
        with db.transaction():  # a session id another participant's consent already holds is not taken over
            db.execute(
                "INSERT INTO guest_consents (session_id, participant_id, language, text_hash, consented_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET language = excluded.language, "
                "text_hash = excluded.text_hash, consented_at = excluded.consented_at, expires_at = excluded.expires_at "
                "WHERE guest_consents.participant_id = excluded.participant_id",
                [session_id, participant_id, language, consent_hash(language), now.isoformat(),
                 expiry(now, desk.config.store.retention_days).isoformat()])
        if db.execute("SELECT participant_id FROM guest_consents WHERE session_id = ?", [session_id]).fetchone()[0] \
                != participant_id:
            return web.json_response({"error": "session_id in use", "reason": "invalid"}, status=400)
        return web.json_response({"ok": True, "role": found.admission.participant.role})

    async def withdraw(request: web.Request) -> web.Response:
        """Consent withdrawn: this participant's consent records, waiting entry, calls and call rows
        go at once, and nobody else's (an interpreter's withdrawal leaves the customer's alone).
        All of them, whichever page load (session) made them: one link is one person. At any time:
        after the appointment was cancelled, changed or is over too."""
        found: KeptPass = guest(request, passes.kept)
        session_id = str((await _body(request)).get("session_id", ""))[:64]
        with db.transaction():
            sessions = {session_id} | {row[0] for row in db.execute(
                "SELECT session_id FROM guest_consents WHERE participant_id = ?", [found.participant_id]).fetchall()}
            db.execute("DELETE FROM guest_consents WHERE participant_id = ?", [found.participant_id])
        passes.withdraw(found.participant_id)
        home = _home_booth(found.participant_id)  # its role may be gone with a change
        for each in sorted(sessions):  # only this participant's: the hub goes by the home booth's id
            await request.app[APP_HUB].withdraw(home, each)  # erases the deleted bytes too
        return web.json_response({"ok": True})

    async def pass_state(request: web.Request) -> web.Response:
        """Whether this browser's pass still holds (the page asks when its socket was refused)."""
        return web.json_response({"ok": True, "role": guest(request).admission.participant.role})

    async def socket(request: web.Request) -> web.StreamResponse:
        found = guest(request)
        booth = _booth_for(found)
        hub = request.app[APP_HUB]
        technical = parse_user_agent(request.headers.get("User-Agent", ""))
        appointment, participant = found.admission.appointment, found.admission.participant
        calls: set[str] = set()  # already linked to the pass (one row each, not one per candidate)

        async def handle(msg: p.Message) -> p.Error | None:
            call_id = getattr(msg, "call_id", None)
            if isinstance(call_id, str) and call_id not in calls:
                # Linked to the pass (and so recorded at all) only once the hub knows it is this
                # participant's call: a made-up call id leaves no row behind.
                route = await hub.state.get_route(call_id)
                if route is not None and route.booth_id == booth.booth_id:
                    calls.add(call_id)
                    passes.add_call(found, call_id)
                    await surveys.grant(participant.participant_id, call_id)
            if await groups.relay(booth.booth_id, msg):  # a link to another participant
                return None
            customer = participant.role == "customer"
            if isinstance(msg, p.Survey) and not await surveys.take(participant.participant_id):
                return p.Error(code="not_allowed", message="one survey answer per call", ref=msg.type)
            if isinstance(msg, p.Waiting):
                # The consent record comes before anything else (POST /api/join/consent): a session
                # without one never waits, and so never gets a call and its row.
                if db.execute("SELECT 1 FROM guest_consents WHERE session_id = ? AND participant_id = ?",
                              [msg.session_id, participant.participant_id]).fetchone() is None:
                    return p.Error(code="no_consent", message="record the consent first (POST /api/join/consent)",
                                   ref=msg.type)
                # One person waits once: a new waiting entry (a reload of the page) replaces the old.
                for entry in await hub.state.waiting():
                    if entry.booth_id == booth.booth_id and entry.session_id != msg.session_id:
                        await hub.booth_message(booth, p.LeaveWaiting(session_id=entry.session_id, reason="reset"))
                # The advisor sees whom the appointment is with (customer number and name, as
                # booked: customers only). Further participants stay known by their role alone.
                msg = msg.model_copy(update={
                    "kind": "appointment", "appointment_at": appointment.starts_at.isoformat(),
                    "name": (msg.name or appointment.name) if customer else None,
                    "customer_number": (msg.customer_number or appointment.customer_number) if customer else None})
            elif isinstance(msg, p.WaitingUpdate) and not customer:
                return None
            if isinstance(msg, p.CallInfo):  # the consented fields, from the User-Agent header only
                msg = msg.model_copy(update=technical)
            return await hub.booth_message(booth, msg)

        return await serve_booth(request, booth, handle, watch=(watch, found.pass_hash), accept=p.GUEST_TO_HUB)

    async def stop_watch(app: web.Application) -> None:
        await watch.close()

    app.on_cleanup.append(stop_watch)
    app.router.add_get("/join", join_page)
    app.router.add_post("/api/join", join)
    app.router.add_post("/api/join/consent", consent)
    app.router.add_post("/api/join/withdraw", withdraw)
    app.router.add_get("/api/join/pass", pass_state)
    app.router.add_get("/ws/guest", socket)
    app.router.add_static("/static/", STATIC_DIR, show_index=False)


def purge_guest_consents(db: Database, now: datetime) -> int:
    with db.transaction():
        return db.execute("DELETE FROM guest_consents WHERE expires_at <= ?", [now.isoformat()]).rowcount
