"""A hand-written iCalendar (RFC 5545) event for the invitation e-mail: no library needed.

The event's start and end are given in Europe/Berlin (``DTSTART;TZID=Europe/Berlin``) with the
matching ``VTIMEZONE``, so a calendar shows the appointment at the same wall time the e-mail
names even across a daylight-saving change. A change is the same ``UID`` with a higher
``SEQUENCE``; a cancellation is ``METHOD:CANCEL`` with ``STATUS:CANCELLED``.

Example::

    >>> from datetime import datetime, timezone
    >>> text = calendar_event(uid="a-1@videokiosk", sequence=0, starts_at=datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc),
    ...                       minutes=30, summary="Mein Videotermin", description="Link: https://x/join#t",
    ...                       url="https://x/join#t", stamp=datetime(2026, 3, 1, tzinfo=timezone.utc))
    >>> [line for line in text.splitlines() if line.startswith("DTSTART;")]
    ['DTSTART;TZID=Europe/Berlin:20260302T100000']
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
# Germany's rules since 1996: CEST from the last Sunday of March 02:00, CET from the last Sunday
# of October 03:00.
VTIMEZONE = [
    "BEGIN:VTIMEZONE", "TZID:Europe/Berlin",
    "BEGIN:DAYLIGHT", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0200", "TZNAME:CEST",
    "DTSTART:19700329T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT",
    "BEGIN:STANDARD", "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "TZNAME:CET",
    "DTSTART:19701025T030000", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD",
    "END:VTIMEZONE",
]


def escape(text: str) -> str:
    """TEXT value escaping (RFC 5545, 3.3.11)."""
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after CRLF and a space (3.1)."""
    out, current, size = [], "", 0
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > 75:
            out.append(current)
            current, size = " ", 1
        current += ch
        size += width
    out.append(current)
    return "\r\n".join(out)


def _local(moment: datetime) -> str:
    return moment.astimezone(BERLIN).strftime("%Y%m%dT%H%M%S")


def _utc(moment: datetime) -> str:
    return moment.astimezone(BERLIN).astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")


def calendar_event(*, uid: str, sequence: int, starts_at: datetime, minutes: int, summary: str,
                   description: str, url: str | None, stamp: datetime, cancelled: bool = False,
                   organizer: str | None = None, location: str | None = None) -> str:
    """One VCALENDAR with one VEVENT, CRLF line ends, folded; ``starts_at`` must be aware."""
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//videokiosk//Mein Videotermin//DE", "CALSCALE:GREGORIAN",
        f"METHOD:{'CANCEL' if cancelled else 'PUBLISH'}",
        *VTIMEZONE,
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"SEQUENCE:{sequence}",
        f"DTSTAMP:{_utc(stamp)}",
        f"DTSTART;TZID=Europe/Berlin:{_local(starts_at)}",
        f"DTEND;TZID=Europe/Berlin:{_local(starts_at + timedelta(minutes=minutes))}",
        f"SUMMARY:{escape(summary)}",
        f"DESCRIPTION:{escape(description)}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
    ]
    if url:
        lines.append(f"URL:{url}")
    if location:
        lines.append(f"LOCATION:{escape(location)}")
    if organizer:
        lines.append(f"ORGANIZER:mailto:{organizer}")
    if not cancelled:
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT30M", f"DESCRIPTION:{escape(summary)}", "END:VALARM"]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(fold(line) for line in lines) + "\r\n"
