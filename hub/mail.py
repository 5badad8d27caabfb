"""The invitation e-mail "Einladung zu „Mein Videotermin“", its change and cancel notices.

Each mail is in the appointment's language (texts in ``hub/mail_i18n/<lang>.json``), as plain
text and HTML, with the date and time in Europe/Berlin formatted for that language, the
participant's personal link and booth code, a QR code of the link (PNG, inline by Content-ID),
what happens next, the rejoin hint, and an iCalendar attachment (``hub/ics.py``).
:class:`hub.outbox.MailOutbox` stores and sends what :func:`compose` builds.

Example::

    >>> from datetime import datetime, timezone
    >>> from hub.appointments import Appointment, Participant
    >>> p = Participant("p-1", "a-1", "customer", "kunde@example.org")
    >>> a = Appointment("a-1", datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc), 30, "de", None, "Frau Muster",
    ...                 "booked", 0, (p,))
    >>> msg = compose("invite", a, p, link="https://hub.example/join#abc", code="K7M2X9PQ", sender="vt@example.org")
    >>> str(msg["Subject"]), when_text(a, load_texts("de"))
    ('Einladung zu „Mein Videotermin“', 'Montag, 2. März 2026 um 10:00 Uhr')
"""

from __future__ import annotations

import functools
import html
import io
import json
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Literal

import segno

from .appointments import Appointment, Participant, format_code
from .ics import calendar_event

TEXTS = Path(__file__).parent / "mail_i18n"
Kind = Literal["invite", "change", "cancel"]


@functools.cache
def load_texts(language: str) -> dict:
    """The mail texts of one language; German when the language has none."""
    path = TEXTS / f"{language}.json"
    if not path.exists():
        path = TEXTS / "de.json"
    return json.loads(path.read_text("utf-8"))


def fill(template: str, **values: object) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", str(value))
    return template


def date_text(appointment: Appointment, texts: dict) -> str:
    local = appointment.local_start
    return fill(texts["date_format"], weekday=texts["weekdays"][local.weekday()], day=local.day,
                month=texts["months"][local.month - 1], year=local.year)


def time_text(appointment: Appointment, texts: dict) -> str:
    local = appointment.local_start
    return fill(texts["time_format"], hour=f"{local.hour:02d}", minute=f"{local.minute:02d}")


def when_text(appointment: Appointment, texts: dict) -> str:
    """Date and time as the language writes them, e.g. "Montag, 2. März 2026 um 10:00 Uhr"."""
    return fill(texts["when"], date=date_text(appointment, texts), time=time_text(appointment, texts))


def qr_png(link: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=5, border=3)
    return buffer.getvalue()


def _paragraphs(kind: Kind, appointment: Appointment, participant: Participant, texts: dict) -> dict:
    """The parts both the plain text and the HTML are made of."""
    named = participant.role == "customer" and appointment.name
    greeting = fill(texts["greeting_named"], name=appointment.name) if named else texts["greeting"]
    if kind == "invite":
        intro = (texts["intro_invite"] if participant.role == "customer"
                 else fill(texts["intro_invite_role"], role=texts["roles"][participant.role]))
    else:
        intro = texts[f"intro_{kind}"]
    return {"greeting": greeting, "intro": intro, "when": f"{texts['when_label']} {when_text(appointment, texts)}",
            "who": _who_else(appointment, participant, texts) if kind != "cancel" else ""}


def _who_else(appointment: Appointment, participant: Participant, texts: dict) -> str:
    """The consent lets further people join only if agreed beforehand: the mail says who, by role."""
    roles = [texts["roles"][p.role] for p in appointment.participants
             if p.participant_id != participant.participant_id and p.role != "customer"]
    if participant.role != "customer":
        return ""
    return fill(texts["also_joining"], roles=", ".join(roles)) if roles else texts["nobody_else"]


def _plain(kind: Kind, parts: dict, texts: dict, link: str | None, code: str | None) -> str:
    lines = [parts["greeting"], "", parts["intro"], "", parts["when"], ""] + ([parts["who"], ""] if parts["who"] else [])
    if kind != "cancel" and link and code:
        lines += [texts["link_label"], link, "", texts["code_label"], format_code(code), "",
                  texts["next_title"], *[f"- {step}" for step in texts["next_steps"]], "", texts["rejoin"], ""]
    else:
        lines += [texts["cancel_next"], ""]
    lines += [texts["signature"], "", "--", texts["no_reply"]]
    return "\n".join(lines) + "\n"


def _html(kind: Kind, parts: dict, texts: dict, link: str | None, code: str | None, qr_cid: str | None) -> str:
    e = html.escape
    body = [f"<p>{e(parts['greeting'])}</p>", f"<p>{e(parts['intro'])}</p>", f"<p><strong>{e(parts['when'])}</strong></p>"]
    if parts["who"]:
        body.append(f"<p>{e(parts['who'])}</p>")
    if kind != "cancel" and link and code:
        body += [
            f"<p>{e(texts['link_label'])}<br><a href=\"{e(link)}\" style=\"display:inline-block;padding:12px 20px;"
            f"background:#0b5cad;color:#ffffff;text-decoration:none;border-radius:6px\">{e(texts['link_button'])}</a><br>"
            f"<span style=\"font-size:90%\">{e(link)}</span></p>",
            f"<p>{e(texts['code_label'])}<br><strong style=\"font-size:150%;letter-spacing:2px\">{e(format_code(code))}</strong></p>",
        ]
        if qr_cid:
            body.append(f"<p><img src=\"cid:{qr_cid[1:-1]}\" alt=\"QR\" width=\"200\" height=\"200\"><br>{e(texts['qr_caption'])}</p>")
        body += [f"<h2 style=\"font-size:110%\">{e(texts['next_title'])}</h2>",
                 "<ol>" + "".join(f"<li>{e(step)}</li>" for step in texts["next_steps"]) + "</ol>",
                 f"<p>{e(texts['rejoin'])}</p>"]
    else:
        body.append(f"<p>{e(texts['cancel_next'])}</p>")
    body += [f"<p>{e(texts['signature'])}</p>", f"<p style=\"color:#666;font-size:85%\">{e(texts['no_reply'])}</p>"]
    lang, direction = e(texts.get("lang", "")), e(texts["dir"])
    return (f"<!doctype html><html dir=\"{direction}\"{' lang=' + chr(34) + lang + chr(34) if lang else ''}>"
            "<head><meta charset=\"utf-8\"></head>"
            f"<body style=\"font-family:sans-serif;line-height:1.5\">{''.join(body)}</body></html>")


def compose(kind: Kind, appointment: Appointment, participant: Participant, *, link: str | None = None,
            code: str | None = None, sender: str, now=None) -> EmailMessage:
    """One participant's mail: text + HTML (+ inline QR) + .ics. ``link``/``code`` unless cancelled."""
    texts = load_texts(appointment.language)
    parts = _paragraphs(kind, appointment, participant, texts)
    domain = sender.rsplit("@", 1)[-1]
    msg = EmailMessage()
    msg["Subject"] = texts[f"subject_{kind}"]
    msg["From"] = sender
    msg["To"] = participant.email
    msg["Auto-Submitted"] = "auto-generated"
    msg["Message-ID"] = make_msgid(domain=domain)
    stamp = now or appointment.starts_at
    msg["Date"] = format_datetime(stamp)
    msg.set_content(_plain(kind, parts, texts, link, code))
    qr_cid = make_msgid(domain=domain) if kind != "cancel" and link else None
    msg.add_alternative(_html(kind, parts, texts | {"lang": appointment.language}, link, code, qr_cid), subtype="html")
    if qr_cid and link:
        msg.get_payload()[1].add_related(qr_png(link), maintype="image", subtype="png", cid=qr_cid, filename="qr.png")
    ics = calendar_event(
        uid=f"{appointment.appointment_id}@videokiosk", sequence=appointment.sequence, starts_at=appointment.starts_at,
        minutes=appointment.duration_min, summary=texts["event_summary"],
        description="\n".join(filter(None, [parts["intro"], link and f"{texts['link_label']} {link}", texts["rejoin"] if link else None])),
        url=link, stamp=stamp, cancelled=kind == "cancel", organizer=sender,
    )
    msg.add_attachment(ics.encode("utf-8"), maintype="text", subtype="calendar", filename="termin.ics",
                       params={"method": "CANCEL" if kind == "cancel" else "PUBLISH", "charset": "utf-8"})
    msg["Content-Language"] = appointment.language  # last: multipart conversion moves Content-* headers down
    return msg
