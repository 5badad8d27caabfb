"""Logs never carry personal data, from any logger: a whole booth journey (name and customer
number typed, chat both ways, the call, the survey) with every logger at DEBUG (ours, aiortc,
aioice, aiohttp) through the log set-up the entry points install; the output holds no IP address,
name, customer number, chat text, e-mail address, password, token or cookie.

The strings are drawn at random per run. Without the set-up the same scan finds aioice's candidate
pairs with their IP addresses (``test_the_scan_sees_what_the_libraries_log``).
"""

from __future__ import annotations

import logging
import random
import re
import string

import pytest
from playwright.sync_api import expect

from videokiosk import logs

from .chat_helpers import into_call
from .harness import PASSWORD
from .test_withdrawal import type_details

pytestmark = [pytest.mark.browser, pytest.mark.slow]
IP = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)|(?<![\w:])[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4})*::[0-9a-fA-F:]*")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
LIBRARIES = ("aiortc", "aioice", "aiohttp", "aiohttp.access", "aiohttp.server", "aiohttp.web", "asyncio")


def every_logger_at_debug(caplog) -> None:
    """Every Python logger at DEBUG. PyAV's ``av`` loggers stay as they are: at DEBUG PyAV hands
    FFmpeg's own log (codec internals, no addresses) to Python from its threads and stalls audio."""
    caplog.set_level(logging.DEBUG)
    for name in (*LIBRARIES, *logging.Logger.manager.loggerDict):
        if name != "av" and not name.startswith("av."):
            caplog.set_level(logging.DEBUG, logger=name)


def findings(text: str, needles: dict[str, str]) -> list[str]:
    found = [f"{what}: {line.strip()[:160]}" for line in text.splitlines()
             for what, needle in needles.items() if needle and needle in line]
    found += [f"IP address: {line.strip()[:160]}" for line in text.splitlines() if IP.search(line)]
    found += [f"e-mail address: {line.strip()[:160]}" for line in text.splitlines() if EMAIL.search(line)]
    return found


def test_a_whole_booth_journey_at_debug_logs_nothing_personal(stack, advisor_context, kiosk_context, caplog):
    logs.install()  # what `videokiosk booth`, `videokiosk hub serve` and `videokiosk demo` do first
    caplog.set_level(logging.INFO)
    rng = random.SystemRandom()
    name = "".join(rng.choice(string.ascii_uppercase) for _ in range(9))
    number = "".join(rng.choice(string.digits) for _ in range(9))
    chat = "Ihr Antrag " + "".join(rng.choice(string.ascii_lowercase) for _ in range(12))
    advisor, kiosk = advisor_context.new_page(), kiosk_context.new_page()

    def in_the_waiting_room(row) -> None:
        # From here on every logger at DEBUG (the device check before runs at INFO: its timed
        # audio loop would not hear the tone on a busy machine with aiortc logging every packet).
        every_logger_at_debug(caplog)
        type_details(kiosk, name, number)

    into_call(stack, advisor, kiosk, before_admit=in_the_waiting_room)
    advisor.get_by_label("Nachricht", exact=True).fill(chat)
    advisor.locator("#chat-form").get_by_role("button", name="Senden").click()
    expect(kiosk.locator("#chat-list li").filter(has_text=chat)).to_be_visible(timeout=30_000)
    stack.wait_booth_frames(10)
    advisor.get_by_role("button", name="Beenden").click()
    expect(kiosk.get_by_role("heading", name="Kurze Umfrage")).to_be_visible()
    kiosk.get_by_role("button", name="Überspringen").click()
    expect(kiosk.get_by_role("button", name="Videoberatung starten")).to_be_visible(timeout=30_000)

    cookies = {c["name"]: c["value"] for c in advisor_context.cookies()}
    needles = {"name": name, "customer number": number, "chat text": chat, "password": PASSWORD,
               "booth token": stack.booth.daemon.config.hub.token,
               **{f"cookie {k}": v for k, v in cookies.items() if len(v) >= 8}}
    text = caplog.text
    assert len(text.splitlines()) > 100, "hardly any log: is DEBUG really on?"
    assert "aioice" in text and "aiortc" in text, "the libraries' loggers were not heard"
    assert findings(text, needles) == []


def test_the_scan_sees_what_the_libraries_log(caplog):
    """Without the set-up, aioice's own line would carry the addresses; with it, it does not."""
    every_logger_at_debug(caplog)
    line = "Check CandidatePair(('192.0.2.2', 47836) -> ('2001:db8::7', 3478)) State.FROZEN -> State.WAITING"
    raw = logging.LogRecord("aioice.ice", logging.INFO, __file__, 1, "%s", (line,), None)
    assert findings(raw.getMessage(), {}) != []
    logs.install()
    logging.getLogger("aioice.ice").info("%s from anna@example.org, Bearer abc123", line)
    assert findings(caplog.records[-1].getMessage(), {"token": "abc123"}) == []
    assert "%a" not in logs.ACCESS_LOG_FORMAT and "User-Agent" not in logs.ACCESS_LOG_FORMAT
