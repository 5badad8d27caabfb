"""Logs never carry personal data, from any logger: whole journeys with every logger at DEBUG
(ours, aiortc, aioice, aiohttp, and FFmpeg's own log through PyAV's ``libav`` loggers) through the
log set-up the entry points install; the output holds no IP address, name, customer number, chat
text, e-mail address, password, token, invitation code or cookie:

- a booth walk-in: name and customer number typed, chat both ways, the call, the survey;
- a customer at home with her appointment link: the advisor's note in the waiting room, chat both
  ways, the call, the survey;
- a group call: a booth customer with her appointment code and an interpreter at home.

The strings are drawn at random per run. Without the set-up the same scan finds aioice's candidate
pairs with their IP addresses (``test_the_scan_sees_what_the_libraries_log``).
"""

from __future__ import annotations

import ctypes
import logging
import random
import re
import string

import av.logging
import pytest
from playwright.sync_api import BrowserContext, expect

from tests.hub.test_appointments_browser import book, home_context, join_from_home  # noqa: F401 (fixture)
from videokiosk import logs

from .chat_helpers import into_call
from .harness import PASSWORD, Stack, log_in
from .test_group_booth import booth_sees_the_interpreter, kiosk_with_appointment
from .test_withdrawal import type_details

pytestmark = [pytest.mark.browser, pytest.mark.slow]
IP = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)|(?<![\w:])[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4})*::[0-9a-fA-F:]*")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
LIBRARIES = ("aiortc", "aioice", "aiohttp", "aiohttp.access", "aiohttp.server", "aiohttp.web", "asyncio")


def ffmpeg_logs_to_stderr() -> None:
    """FFmpeg's own log callback at DEBUG: it writes to the process's stderr (fd 2), which the test
    reads with capfd. Not PyAV's callback into Python logging (av.logging.set_level): that one takes
    the GIL inside FFmpeg's codec lock, and two encoders opening at once deadlocked the whole test
    process, beyond pytest's timeout (gdb: one thread holding the GIL waited in avcodec_open2 for
    the lock, the other held the lock and waited for the GIL in PyAV's log callback)."""
    with open("/proc/self/maps") as maps:  # the libavutil PyAV loaded (its wheel names it with a hash)
        path = next(line.split()[-1] for line in maps if "libavutil" in line)
    libavutil = ctypes.CDLL(path)
    libavutil.av_log_set_level(ctypes.c_int(48))  # AV_LOG_DEBUG
    libavutil.av_log_set_callback(ctypes.cast(libavutil.av_log_default_callback, ctypes.c_void_p))


@pytest.fixture
def at_debug(caplog):
    """Call it to put every logger at DEBUG from then on, FFmpeg's own log too (see everything());
    PyAV's default (FFmpeg's log ignored) comes back after the test."""
    def every_logger_at_debug(ffmpeg: bool = True) -> None:
        if ffmpeg:
            ffmpeg_logs_to_stderr()
        caplog.set_level(logging.DEBUG)
        for name in (*LIBRARIES, *logging.Logger.manager.loggerDict):
            caplog.set_level(logging.DEBUG, logger=name)

    yield every_logger_at_debug
    av.logging.set_level(None)  # PyAV's silent callback again


def everything(caplog, capfd) -> str:
    """Every Python log line of the test, and FFmpeg's (from stderr, marked "libav")."""
    return caplog.text + "".join(f"libav: {line}\n" for line in capfd.readouterr().err.splitlines())


def random_strings(rng: random.SystemRandom, alphabet: str, n: int = 9) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def secrets_of(stack: Stack, *contexts: BrowserContext) -> dict[str, str]:
    """What no log may show in any journey: the staff password, the booth's token, every cookie."""
    cookies = {f"cookie {c['name']}": c["value"] for ctx in contexts for c in ctx.cookies() if len(c["value"]) >= 8}
    return {"password": PASSWORD, "booth token": stack.booth.daemon.config.hub.token, **cookies}


def heard_everybody(text: str, loggers: tuple[str, ...], at_least: int = 100) -> None:
    """The scan is not blind: enough lines, and each of ``loggers`` heard."""
    assert len(text.splitlines()) > at_least, "hardly any log: is DEBUG really on?"
    for name in loggers:
        assert name in text, f"the {name} loggers were not heard"


BOOTH_LOGGERS = ("aioice", "aiortc", "aiohttp", "videokiosk.", "hub.", "libav")  # libav: FFmpeg's, via PyAV


def findings(text: str, needles: dict[str, str]) -> list[str]:
    found = [f"{what}: {line.strip()[:160]}" for line in text.splitlines()
             for what, needle in needles.items() if needle and needle in line]
    found += [f"IP address: {line.strip()[:160]}" for line in text.splitlines() if IP.search(line)]
    found += [f"e-mail address: {line.strip()[:160]}" for line in text.splitlines() if EMAIL.search(line)]
    return found


def test_a_whole_booth_journey_at_debug_logs_nothing_personal(stack, advisor_context, kiosk_context, caplog, capfd,
                                                              at_debug):
    logs.install()  # what `videokiosk booth`, `videokiosk hub serve` and `videokiosk demo` do first
    caplog.set_level(logging.INFO)
    rng = random.SystemRandom()
    name, number = random_strings(rng, string.ascii_uppercase), random_strings(rng, string.digits)
    chat = "Ihr Antrag " + random_strings(rng, string.ascii_lowercase, 12)
    advisor, kiosk = advisor_context.new_page(), kiosk_context.new_page()

    def in_the_waiting_room(row) -> None:
        # From here on every logger at DEBUG (the device check before runs at INFO: its timed
        # audio loop would not hear the tone on a busy machine with aiortc logging every packet).
        at_debug()
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

    needles = {"name": name, "customer number": number, "chat text": chat, **secrets_of(stack, advisor_context)}
    text = everything(caplog, capfd)
    heard_everybody(text, BOOTH_LOGGERS)
    assert findings(text, needles) == []


def test_a_whole_home_journey_at_debug_logs_nothing_personal(stack, advisor_context, home_context, caplog, at_debug):  # noqa: F811
    """At home: invitation link, consent, the browser's device check, the advisor's note in the
    waiting room, the call with chat both ways, the survey; the hub's side logs it all."""
    logs.install()
    at_debug()  # the device check runs in the customer's browser: DEBUG from the start
    rng = random.SystemRandom()
    name, number = random_strings(rng, string.ascii_uppercase), random_strings(rng, string.digits)
    note, said, answered = (f"{word} {random_strings(rng, string.ascii_lowercase, 12)}"
                            for word in ("Gleich", "Ihr Antrag", "Danke"))
    _, [customer] = book(stack.parts, 10, name=name, customer_number=number)  # any e-mail address is a finding
    advisor = advisor_context.new_page()
    log_in(advisor, stack.hub_url)
    home = join_from_home(home_context, stack.hub_url, customer.token)

    row = advisor.locator("#waiting-list tr").filter(has_text=name)
    row.locator("summary", has_text="Nachricht").click(timeout=30_000)
    row.get_by_label("Kurze Nachricht an die wartende Person").fill(note)
    row.get_by_role("button", name="Nachricht senden").click()
    expect(home.locator("#waiting-note")).to_contain_text(note, timeout=30_000)
    row.get_by_role("button", name="Eintreten lassen").click()
    expect(home.locator("#remote-view[data-live=true]")).to_be_visible(timeout=60_000)
    advisor.get_by_label("Nachricht", exact=True).fill(said)
    advisor.locator("#chat-form").get_by_role("button", name="Senden").click()
    expect(home.locator("#chat-list li").filter(has_text=said)).to_be_visible(timeout=30_000)
    home.locator("#chat-input").fill(answered)
    home.locator("#chat-form").get_by_role("button", name="Senden").click()
    expect(advisor.locator("#chat-list li").filter(has_text=answered)).to_be_visible(timeout=30_000)
    advisor.get_by_role("button", name="Beenden").click()
    expect(home.get_by_role("heading", name="Kurze Umfrage")).to_be_visible(timeout=30_000)
    home.get_by_label("4 von 5").check()
    home.get_by_role("button", name="Absenden").click()
    expect(home.get_by_role("heading", name="Vielen Dank!")).to_be_visible(timeout=30_000)

    needles = {"name": name, "customer number": number, "note": note, "chat text": said,
               "chat answer": answered, "personal link": customer.token, "code": customer.code,
               **secrets_of(stack, advisor_context, home_context)}
    heard_everybody(caplog.text, ("aiohttp", "hub."), at_least=30)  # two browsers: the hub only relays
    assert findings(caplog.text, needles) == []


def test_a_group_call_at_debug_logs_nothing_personal(stack, advisor_context, kiosk_context, home_context, caplog, at_debug):  # noqa: F811
    """A booth customer with her appointment code, an interpreter at home: the peer links too."""
    logs.install()
    rng = random.SystemRandom()
    name, number = random_strings(rng, string.ascii_uppercase), random_strings(rng, string.digits)
    email = f"{random_strings(rng, string.ascii_lowercase)}@example.org"
    _, [customer, interpreter] = book(stack.parts, 10, participants=[{"role": "interpreter", "email": email}])
    advisor = advisor_context.new_page()
    log_in(advisor, stack.hub_url)
    kiosk = kiosk_with_appointment(stack, kiosk_context, customer.code)
    home = join_from_home(home_context, stack.hub_url, interpreter.token)
    # After both device checks (the booth's timed audio loop, as in the booth journey). FFmpeg's
    # log stays off here (the booth journey above reads it): the peer link adds nothing FFmpeg-side.
    at_debug(ffmpeg=False)
    type_details(kiosk, name, number)
    advisor.get_by_role("row").filter(has_text="Kiosk 1").get_by_role("button", name="Eintreten lassen").click(timeout=30_000)
    stack.wait_state("call")
    advisor.get_by_role("row").filter(has_text="Von zu Hause (Dolmetscherin / Dolmetscher)") \
        .get_by_role("button", name="Eintreten lassen").click(timeout=30_000)
    booth_sees_the_interpreter(stack)
    stack.wait_booth_frames(10)
    home.close()  # the interpreter's browser goes away; the booth's call ends after
    advisor.get_by_role("button", name="Beenden").first.click()
    expect(kiosk.get_by_role("heading", name="Kurze Umfrage")).to_be_visible(timeout=30_000)
    kiosk.get_by_role("button", name="Überspringen").click()

    needles = {"name": name, "customer number": number, "interpreter's e-mail": email,
               "customer's link": customer.token, "customer's code": customer.code,
               "interpreter's link": interpreter.token, "interpreter's code": interpreter.code,
               **secrets_of(stack, advisor_context, home_context)}
    heard_everybody(caplog.text, ("aioice", "aiortc", "videokiosk.", "hub.", "peer link"))  # (no page loads: no access log)
    assert findings(caplog.text, needles) == []


def test_the_scan_sees_what_the_libraries_log(caplog, at_debug):
    """Without the set-up, aioice's own line would carry the addresses; with it, it does not."""
    at_debug()
    line = "Check CandidatePair(('192.0.2.2', 47836) -> ('2001:db8::7', 3478)) State.FROZEN -> State.WAITING"
    raw = logging.LogRecord("aioice.ice", logging.INFO, __file__, 1, "%s", (line,), None)
    assert findings(raw.getMessage(), {}) != []
    logs.install()
    logging.getLogger("aioice.ice").info("%s from anna@example.org, Bearer abc123", line)
    assert findings(caplog.records[-1].getMessage(), {"token": "abc123"}) == []
    assert "%a" not in logs.ACCESS_LOG_FORMAT and "User-Agent" not in logs.ACCESS_LOG_FORMAT
