"""HTTP side of appointments: the advisors' API, the booth's code check, mail delivery and purge.

Advisors (session cookie + CSRF header, as every state-changing console request)::

    GET  /api/appointments                  upcoming appointments with each mail's delivery state
    POST /api/appointments                  book (JSON = :class:`~hub.appointments.AppointmentDraft`)
    POST /api/appointments/{id}             change (same JSON); everybody is mailed new links
    POST /api/appointments/{id}/cancel      cancel; everybody is told by mail
    POST /api/mails/{mail_id}/retry         try a failed mail again

Customers and participants open the link (hub/guest.py: ``POST /api/join``, the page, the guest
socket). The link is ``<public_url>/join#<token>``: the token sits in the fragment, so it never
reaches a server log or a Referer header.

Example::

    >>> from hub.config import HubConfig
    >>> from hub.storage import open_database
    >>> from videokiosk.clock import FakeClock
    >>> desk = AppointmentDesk.open(open_database(":memory:"), HubConfig(), FakeClock())
    >>> desk.link("abc")
    'http://127.0.0.1:8080/join#abc'
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .storage import Database
from aiohttp import web
from pydantic import ValidationError

from rtc import protocol as p
from videokiosk.clock import Clock
from videokiosk.logs import redact

from .appointments import Admission, Appointment, AppointmentBook, AppointmentDraft, AppointmentError, Invitation
from .auth import current_session, require_csrf
from .backoff import Failures
from .config import HubConfig
from .mail import Kind, compose
from .outbox import MailOutbox
from .registry import Booth
from .service import Hub, booth_channel
from .roles import LEAD, has_role

log = logging.getLogger(__name__)
STATUS_FOR = {"unknown": 404, "too_early": 403, "expired": 410, "cancelled": 410, "rate_limited": 429, "invalid": 400}


@dataclass
class AppointmentDesk:
    """The appointment book and the outbox, glued: every change mails the people concerned."""

    db: Database
    book: AppointmentBook
    outbox: MailOutbox
    config: HubConfig
    clock: Clock

    @classmethod
    def open(cls, db: Database, config: HubConfig, clock: Clock, transport=None,
             failures: Failures | None = None) -> "AppointmentDesk":
        book = AppointmentBook(db, clock, config.store.retention_days, failures)
        return cls(db, book, MailOutbox(db, config.mail, clock, transport), config, clock)

    def link(self, token: str) -> str:
        return f"{self.config.mail.public_url.rstrip('/')}/join#{token}"

    def create(self, draft: AppointmentDraft, advisor: str) -> Appointment:
        appointment, invitations = self.book.create(draft, advisor)
        self._mail("invite", appointment, invitations)
        return appointment

    def update(self, appointment_id: str, draft: AppointmentDraft) -> Appointment:
        appointment, invitations = self.book.update(appointment_id, draft)
        self._mail("change", appointment, invitations)
        return appointment

    def cancel(self, appointment_id: str) -> Appointment:
        before = self.book.get(appointment_id)
        appointment = self.book.cancel(appointment_id)
        if before.status != "cancelled":
            self._mail("cancel", appointment, [Invitation(p, "", "") for p in appointment.participants])
        return appointment

    def _mail(self, kind: Kind, appointment: Appointment, invitations: list[Invitation]) -> None:
        expires_at = self.book.expiry_for(appointment)
        for inv in invitations:
            message = compose(kind, appointment, inv.participant, link=self.link(inv.token) if inv.token else None,
                              code=inv.code or None, sender=self.config.mail.sender, now=self.clock.now())
            self.outbox.put(message, appointment_id=appointment.appointment_id, role=inv.participant.role,
                            kind=kind, expires_at=expires_at)

    def as_json(self, appointment: Appointment, owner: bool = True) -> dict:
        """The appointment for the console; another advisor's booking without e-mail addresses."""
        local = appointment.local_start
        hide = (lambda email: email) if owner else (lambda email: None)
        return {
            "appointment_id": appointment.appointment_id,
            "starts_local": local.strftime("%Y-%m-%dT%H:%M"),
            "starts_at": appointment.starts_at.isoformat(),
            "duration_min": appointment.duration_min,
            "language": appointment.language,
            "customer_email": hide(appointment.customer.email),
            "mine": owner,
            "customer_number": appointment.customer_number,
            "name": appointment.name,
            "status": appointment.status,
            "participants": [{"role": p.role, "email": hide(p.email)} for p in appointment.participants if p.role != "customer"],
            # The SMTP server's reply may quote the address it refused: another advisor's view
            # gets it without (and without any other address in it).
            "mails": [m if owner else {**m, "last_error": m["last_error"] and redact(m["last_error"])}
                      for m in self.outbox.status(appointment.appointment_id)],
        }


def admission_json(admission: Admission) -> dict:
    """What a joining participant's page may know: time, language, role. No name, no e-mail."""
    a = admission.appointment
    return {"appointment_at": a.starts_at.isoformat(), "appointment_local": a.local_start.strftime("%H:%M"),
            "appointment_date": a.local_start.strftime("%Y-%m-%d"), "language": a.language,
            "role": admission.participant.role}


def error_json(exc: AppointmentError) -> web.Response:
    body = {"error": str(exc), "reason": exc.reason}
    if exc.opens_at is not None:
        body["opens_at"] = exc.opens_at.isoformat()
    headers = {}
    if exc.retry_after_s is not None:
        body["retry_after_s"] = exc.retry_after_s
        headers["Retry-After"] = str(exc.retry_after_s)
    return web.json_response(body, status=STATUS_FOR.get(exc.reason, 400), headers=headers)


APP_DESK = web.AppKey("appointment_desk", AppointmentDesk)


@dataclass(frozen=True)
class _Advisor:
    username: str
    lead: bool  # a team lead manages every advisor's bookings

    def owns(self, appointment: Appointment) -> bool:
        return self.lead or appointment.created_by == self.username


def _advisor(request: web.Request, db: Database) -> _Advisor:
    session = current_session(request)
    if session is None:
        raise web.HTTPUnauthorized(text='{"error": "not_logged_in"}', content_type="application/json")
    if request.method != "GET":
        require_csrf(request, session, request.headers.get("X-CSRF-Token"))
    return _Advisor(session.username, has_role(db, session.username, LEAD))


def _own(advisor: _Advisor, appointment: Appointment) -> None:
    if not advisor.owns(appointment):
        raise web.HTTPForbidden(text='{"error": "another advisor booked this appointment", "reason": "not_yours"}',
                                content_type="application/json")


async def _draft(request: web.Request) -> AppointmentDraft:
    try:
        return AppointmentDraft.model_validate(await request.json())
    except ValueError as exc:  # ValidationError is a ValueError; so is bad JSON
        problems = exc.errors() if isinstance(exc, ValidationError) else [{"loc": (), "msg": "not JSON"}]
        fields = sorted({str(p["loc"][0]) for p in problems if p["loc"]})
        raise web.HTTPBadRequest(text=web.json_response({"error": "invalid", "fields": fields}).text,
                                 content_type="application/json") from None


def check_code_at_booth(hub: Hub, desk: AppointmentDesk,
                        checked: Callable[[str, str, str | None], Awaitable[None]]):
    """The handler of ``appointment_check``: a code typed at a booth, limited per booth.
    ``checked(booth_id, appointment_id, role)`` is awaited before the booth hears "accepted"
    (hub/groupcall.py: her call may then be linked to the appointment's other participants)."""

    async def handle(booth: Booth, msg: p.AppointmentCheck) -> None:
        try:
            client = f"booth:{booth.booth_id}"
            admission = (desk.book.admit_code(msg.code, client=client) if msg.code is not None
                         else desk.book.admit_token(msg.token, client=client))
        except AppointmentError as exc:
            reason = exc.reason if exc.reason in ("unknown", "too_early", "expired", "cancelled", "rate_limited") else "unknown"
            result = p.AppointmentResult(ok=False, reason=reason,
                                         opens_at=exc.opens_at.isoformat() if exc.opens_at else None)
        else:
            a = admission.appointment
            result = p.AppointmentResult(ok=True, appointment_at=a.starts_at.isoformat(), language=a.language,
                                         role=admission.participant.role)
            await checked(booth.booth_id, a.appointment_id, admission.participant.role)
        await hub.state.publish(booth_channel(booth.booth_id), p.encode(result))
        return None

    return handle


def add_appointment_routes(app: web.Application, desk: AppointmentDesk) -> None:
    app[APP_DESK] = desk

    async def list_(request: web.Request) -> web.Response:
        advisor = _advisor(request, desk.db)
        return web.json_response({"appointments": [desk.as_json(a, advisor.owns(a)) for a in desk.book.upcoming()]})

    async def create(request: web.Request) -> web.Response:
        advisor = _advisor(request, desk.db)
        return web.json_response(desk.as_json(desk.create(await _draft(request), advisor.username)), status=201)

    async def update(request: web.Request) -> web.Response:
        advisor = _advisor(request, desk.db)
        draft = await _draft(request)
        try:
            _own(advisor, desk.book.get(request.match_info["id"]))
            return web.json_response(desk.as_json(desk.update(request.match_info["id"], draft)))
        except AppointmentError as exc:
            return error_json(exc)

    async def cancel(request: web.Request) -> web.Response:
        advisor = _advisor(request, desk.db)
        try:
            _own(advisor, desk.book.get(request.match_info["id"]))
            return web.json_response(desk.as_json(desk.cancel(request.match_info["id"])))
        except AppointmentError as exc:
            return error_json(exc)

    async def retry(request: web.Request) -> web.Response:
        advisor = _advisor(request, desk.db)
        try:
            mail = desk.db["mail_outbox"].get(int(request.match_info["mail_id"]))
            _own(advisor, desk.book.get(mail["appointment_id"]))
            desk.outbox.retry(int(request.match_info["mail_id"]))
        except web.HTTPForbidden:
            raise
        except (ValueError, Exception) as exc:  # sqlite_utils NotFoundError, bad number
            return web.json_response({"error": "unknown mail", "reason": type(exc).__name__}, status=404)
        return web.json_response({"ok": True})

    app.router.add_get("/api/appointments", list_)
    app.router.add_post("/api/appointments", create)
    app.router.add_post("/api/appointments/{id}", update)
    app.router.add_post("/api/appointments/{id}/cancel", cancel)
    app.router.add_post("/api/mails/{mail_id}/retry", retry)

    async def background(app: web.Application):
        # Expired appointments and mails go with the hub's one purge (hub/purge.py).
        tasks = [asyncio.create_task(desk.outbox.run())]
        yield
        for task in tasks:
            task.cancel()

    app.cleanup_ctx.append(background)
