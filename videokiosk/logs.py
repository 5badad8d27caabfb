"""Logs without personal data, from every logger (ours, aiortc, aioice, aiohttp): logs outlive the
14-day purge, so nothing in them may point to a person.

Our own modules log the session's random id and never a name, customer number, e-mail address,
chat text or token. Libraries are not ours to change: aioice logs every candidate pair with its
IP addresses, aiohttp's access log starts with the client's. So :func:`install` (called by each
process's entry point: booth, hub, demo) rewrites every log record as it is created, whichever
logger made it and whichever handler prints it, replacing IP addresses, e-mail addresses and
bearer tokens / passwords / ICE credentials with a placeholder. :data:`ACCESS_LOG_FORMAT` is the
hub's access log without the client address.

Example::

    >>> redact("Check CandidatePair(('192.0.2.2', 47836) -> ('2001:db8::7', 3478))")
    "Check CandidatePair(('<ip>', 47836) -> ('<ip>', 3478))"
"""

from __future__ import annotations

import logging
import re

# The request line, status, size and duration: no client address, no user agent, no referrer.
ACCESS_LOG_FORMAT = '"%r" %s %b %Tf'
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_IPV4 = r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)"
# Full form, or any form with "::"; a scope such as %eth0 goes with it. Clock times (12:34:56) do not match.
_IPV6 = (r"(?<![\w:])(?:(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])"
         r"|(?:[0-9a-fA-F]{1,4}:){0,7}:(?::?[0-9a-fA-F]{1,4}){0,7}(?:\.\d{1,3}){0,3}(?=[^\w:]|$))(?:%[\w.]+)?")
_SECRET_WORDS = ("bearer", "token", "password", "pwd", "ufrag")
# (cheap test whether the pattern can match at all, pattern, placeholder): at DEBUG aiortc logs
# every packet, so most lines must cost a few substring tests, not a regular expression each.
_PATTERNS = [
    # A URL's password (postgresql://hub:secret@db/...): before the e-mail rule sees "secret@db".
    (lambda t: "://" in t, re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@"), r"\1<secret>@"),
    (lambda t: "::" in t or t.count(":") >= 7, re.compile(_IPV6), "<ip>"),
    (lambda t: t.count(".") >= 3, re.compile(_IPV4), "<ip>"),
    (lambda t: "@" in t, re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<e-mail>"),
    (lambda t: any(w in t.lower() for w in _SECRET_WORDS),
     re.compile(r"(?i)\b(bearer\s+|token[=:]\s*|password[=:]\s*|pwd[=:]\s*|ufrag[=:]\s*)['\"]?[^\s'\",)]+"),
     r"\1<secret>"),
]


def redact(text: str) -> str:
    """``text`` with every IP address, e-mail address and credential replaced."""
    for may_match, pattern, placeholder in _PATTERNS:
        if may_match(text):
            text = pattern.sub(placeholder, text)
    return text


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: logging reports it when the record is printed
        return
    record.msg, record.args = redact(message), ()
    if record.exc_info:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None  # printed from exc_text, never again from the live exception


def install() -> None:
    """Every record from now on, from any logger, is rewritten as it is created (idempotent)."""
    base = logging.getLogRecordFactory()
    if getattr(base, "redacts", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = base(*args, **kwargs)
        _redact_record(record)
        return record

    factory.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def configure(verbose: bool = False) -> None:
    """An entry point's logging: INFO (DEBUG with ``verbose``) to stderr, without personal data."""
    install()
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=FORMAT)
