"""Guest passes in the hub's SQLite (hub/guest_passes.py): a participant at home keeps their place
across a hub restart; a pass dies with its appointment (over, cancelled, changed) with a clear
message; only a hash is stored; the purge deletes passes and their call links; a withdrawal after
the restart still deletes the call rows."""

from __future__ import annotations

import datetime as dt
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.sync_api import expect

from hub.app import HubParts, make_app
from hub.appointments import AppointmentBook, AppointmentDraft
from hub.config import HubConfig
from hub.guest_passes import MAX_PASSES_PER_PARTICIPANT, GuestPasses
from hub.purge import purge_all
from tests.support import LoopThread
from videokiosk.clock import FakeClock

from .conftest import PASSWORD, Socket, stored_bytes
from .test_appointments_browser import T, book, home_context, join_from_home, until  # noqa: F401 (fixture)

DRAFT = {"starts_local": "2026-01-01T09:10", "customer_email": "kunde@example.org",
         "name": "Erika Mustermann"}  # FakeClock: 2026-01-01 09:00 Berlin; the link is open


@asynccontextmanager
async def serving(parts: HubParts):
    """One life of the hub: its app on a free port, closed (as a restart would) at the end."""
    app = make_app(parts)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), app
    finally:
        await server.close()


async def guest_socket(http: aiohttp.ClientSession, url: str, cookie: str) -> Socket:
    ws = await http.ws_connect(f"{url}/ws/guest", headers={"Cookie": f"vk_guest={cookie}"})
    sock = Socket(ws, http)
    await sock.send({"type": "hello"})
    await sock.expect("welcome")
    return sock


async def advisor(url: str) -> Socket:
    s = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    r = await s.post(f"{url}/api/login", json={"username": "anna", "password": PASSWORD})
    ws = await s.ws_connect(f"{url}/ws/advisor?csrf={(await r.json())['csrf']}")
    sock = Socket(ws, s)
    await sock.expect("snapshot")
    return sock


async def test_a_home_participant_stays_logged_in_across_a_hub_restart_until_the_appointment_is_over(hub_config):
    clock = FakeClock()
    first = HubParts.open(hub_config, clock=clock)
    first.users.add_user("anna", PASSWORD)
    appointment, [invitation] = AppointmentBook(first.db, clock).create(AppointmentDraft(**DRAFT), "anna")
    headers = lambda cookie: {"Cookie": f"vk_guest={cookie}"}  # noqa: E731
    async with aiohttp.ClientSession() as http:
        async with serving(first) as (url, _):
            r = await http.post(f"{url}/api/join", json={"token": invitation.token})
            assert r.status == 200
            cookie = r.cookies["vk_guest"].value
            r = await http.post(f"{url}/api/join/consent", json={"session_id": "s-home0001", "language": "de"},
                                headers=headers(cookie))
            assert r.status == 200
            # Into the waiting room and the call: the call's consented row, linked to the pass
            home, desk = await guest_socket(http, url, cookie), await advisor(url)
            await home.send({"type": "waiting", "session_id": "s-home0001", "language": "de", "kind": "appointment"})
            await desk.expect("waiting_added")
            await desk.send({"type": "admit", "session_id": "s-home0001"})
            call_id = (await home.expect("admitted"))["call_id"]
            await home.send({"type": "call_info", "call_id": call_id, "upload_kbps": 900.0})
            await home.send({"type": "no_such_type"})
            await home.expect("error")  # answered in order: the call_info before it is handled
            await desk.close()
            await home.ws.close()
        first.db.conn.close()

        # The hub restarts: new parts on the same SQLite file. The same cookie still works.
        second = HubParts.open(hub_config, clock=clock)
        async with serving(second) as (url, app):
            r = await http.get(f"{url}/api/join/pass", headers=headers(cookie))
            assert r.status == 200 and (await r.json())["role"] == "customer"
            home = await guest_socket(http, url, cookie)
            await home.ws.close()
            assert second.db["calls"].count == 1
            # Only the cookie's hash is stored, never the value
            stored = [dict(row) for row in second.db["guest_passes"].rows]
            assert len(stored) == 1 and cookie not in str(stored)
            assert cookie.encode() not in stored_bytes(hub_config, second.db)
            assert set(stored[0]) == {"pass_hash", "participant_id", "appointment_id", "expires_at", "issued_at"}  # no name, no address, no cookie
            # Withdrawal after the restart: the call's row goes at once, and so does its link
            r = await http.post(f"{url}/api/join/withdraw", json={"session_id": "s-home0001"}, headers=headers(cookie))
            assert r.status == 200
            assert second.db["calls"].count == 0 and second.db["guest_pass_calls"].count == 0
            assert second.db["guest_consents"].count == 0

            # After the appointment (and its grace period) the pass is refused, saying why
            clock.advance(appointment.closes_at - clock.now() + dt.timedelta(seconds=1))
            r = await http.get(f"{url}/api/join/pass", headers=headers(cookie))
            assert r.status == 410
            assert await r.json() == {"error": "the appointment is over: this link no longer works", "reason": "expired"}
            r = await http.get(f"{url}/ws/guest", headers=headers(cookie))
            assert r.status == 410
            r = await http.post(f"{url}/api/join/consent", json={"session_id": "s-home0002", "language": "de"},
                                headers=headers(cookie))
            assert r.status == 410 and (await r.json())["reason"] == "expired"
            # The hub's purge deletes the pass with the appointment's rows (14 days after its window),
            # not a second earlier: then nothing links to the participant any more
            [expiry] = {row["expires_at"] for row in second.db["appointments"].rows}
            assert {row["expires_at"] for row in second.db["guest_passes"].rows} == {expiry}
            clock.advance(dt.datetime.fromisoformat(expiry) - clock.now() - dt.timedelta(seconds=1))
            purge_all(second.db, clock.now())
            assert second.db["guest_passes"].count == 1
            clock.advance(dt.timedelta(seconds=1))
            assert sum(purge_all(second.db, clock.now()).values()) >= 3  # appointment, participant, pass
            assert second.db["guest_passes"].count == 0 and second.db["appointment_participants"].count == 0
            r = await http.get(f"{url}/api/join/pass", headers=headers(cookie))
            assert r.status == 401 and (await r.json())["reason"] == "pass_lost"


async def test_a_pass_is_refused_once_its_appointment_is_cancelled_or_changed_and_purged_with_it(running_hub):
    hub = running_hub
    clock, db = hub.parts.clock, hub.parts.db
    book = AppointmentBook(db, clock)
    cookies = {}
    for name, start in [("cancelled", "2026-01-01T09:10"), ("changed", "2026-01-01T09:20"), ("kept", "2026-01-01T09:25")]:
        appointment, [invitation] = book.create(AppointmentDraft(**{**DRAFT, "starts_local": start}), "anna")
        r = await hub.http.post(f"{hub.url}/api/join", json={"token": invitation.token})
        assert r.status == 200
        cookies[name] = (r.cookies["vk_guest"].value, appointment)
    book.cancel(cookies["cancelled"][1].appointment_id)
    book.update(cookies["changed"][1].appointment_id, AppointmentDraft(**{**DRAFT, "starts_local": "2026-01-01T09:40"}))
    for name, status, reason in [("cancelled", 410, "cancelled"), ("changed", 401, "pass_lost"), ("kept", 200, None)]:
        r = await hub.http.get(f"{hub.url}/api/join/pass", headers={"Cookie": f"vk_guest={cookies[name][0]}"})
        assert r.status == status, name
        assert (await r.json()).get("reason") == reason
    for key in ("", "x" * 43):
        r = await hub.http.get(f"{hub.url}/api/join/pass", headers={"Cookie": f"vk_guest={key}"})
        assert r.status == 401
    # The changed appointment's old pass has no participant any more: the purge deletes it now;
    # the others expire with their appointment's rows, 14 days after its window closes
    from hub.guest_passes import purge_guest_passes

    assert purge_guest_passes(db, clock.now()) == 1 and db["guest_passes"].count == 2
    for name in ("cancelled", "kept"):
        [row] = db["guest_passes"].rows_where("appointment_id = ?", [cookies[name][1].appointment_id])
        assert row["expires_at"] == db["appointments"].get(cookies[name][1].appointment_id)["expires_at"]
        assert dt.datetime.fromisoformat(row["expires_at"]) == cookies[name][1].closes_at + dt.timedelta(days=14)
    assert purge_guest_passes(db, cookies["kept"][1].closes_at + dt.timedelta(days=14)) == 2
    assert db["guest_passes"].count == 0


# --- in the customer's own Chromium: the page rides out a restart, and says when the pass is over --


def restart(lt: LoopThread, parts: HubParts, port: int) -> HubParts:
    """Stop the hub serving on ``port`` and start a new one (new parts, same SQLite file) there."""

    async def again() -> HubParts:
        await lt._runners.pop().cleanup()  # noqa: SLF001 (the test's own server)
        parts.db.conn.close()
        fresh = HubParts.open(parts.config, clock=parts.clock)
        runner = web.AppRunner(make_app(fresh), shutdown_timeout=2.0)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        lt._runners.append(runner)  # noqa: SLF001 (closed with the loop thread)
        return fresh

    return lt.run(again())


@pytest.mark.browser
def test_after_a_hub_restart_the_home_customer_is_waiting_again_and_an_expired_pass_is_explained(
        loop_thread, tmp_path, home_context):  # noqa: F811
    config = HubConfig.model_validate({"store": {"path": str(tmp_path / "hub.db")},
                                       "mail": {"eml_dir": str(tmp_path / "mails")}})
    parts = HubParts.open(config, clock=FakeClock(dt.datetime.now(dt.timezone.utc)))  # time moves on command
    appointment, [customer] = book(parts, 10)
    url = loop_thread.serve(make_app(parts))
    home = join_from_home(home_context, url, customer.token)
    [entry] = until(lambda: loop_thread.run(parts.state.waiting()))

    parts = restart(loop_thread, parts, int(url.rsplit(":", 1)[1]))
    # The page reconnected with its cookie and is back in the new hub's waiting room, same session
    until(lambda: [e for e in loop_thread.run(parts.state.waiting()) if e.session_id == entry.session_id])
    expect(home.get_by_text("Sie befinden sich im virtuellen Wartebereich")).to_be_visible(timeout=T)

    # The appointment's window closes; when the page next connects, it says so instead of retrying
    parts.clock.advance(appointment.closes_at - parts.clock.now() + dt.timedelta(seconds=1))
    parts = restart(loop_thread, parts, int(url.rsplit(":", 1)[1]))
    expect(home.get_by_text("Dieser Termin ist bereits vorbei.", exact=False)).to_be_visible(timeout=T)
    expect(home.get_by_text("Sie befinden sich im virtuellen Wartebereich")).to_be_hidden()
    assert loop_thread.run(parts.state.waiting()) == []
    # Her consent is still on record: the page offers the withdrawal, and the hub takes it though
    # the link no longer opens (consent can be withdrawn at any time).
    assert parts.db["guest_consents"].count == 1
    home.get_by_role("button", name="Einwilligung widerrufen").click()
    home.get_by_role("alertdialog", name="Einwilligung widerrufen?").get_by_role("button", name="Ja, widerrufen").click()
    expect(home.get_by_role("button", name="Einwilligung widerrufen")).to_be_hidden(timeout=T)
    assert parts.db["guest_consents"].count == 0


def test_the_passes_a_link_keeps_hand_their_calls_to_the_newest(hub_config):
    """One link keeps its newest MAX_PASSES_PER_PARTICIPANT passes; an older one goes, and the
    calls it took part in go over to the newest, so the participant's withdrawal still finds them."""
    clock = FakeClock()
    parts = HubParts.open(hub_config, clock=clock)
    book = AppointmentBook(parts.db, clock)
    _, [invitation] = book.create(AppointmentDraft(**DRAFT), "anna")
    passes = GuestPasses(parts.db, book, clock)
    admission = book.admit_token(invitation.token, client="127.0.0.1")
    first = passes.check(passes.issue(admission))
    passes.add_call(first, "c-early")
    keys = []
    for _ in range(MAX_PASSES_PER_PARTICIPANT):  # a reload a second
        clock.advance(dt.timedelta(seconds=1))
        keys.append(passes.issue(admission))
    assert passes.get(keys[0]) is not None and passes.get(keys[-1]) is not None
    assert [row["pass_hash"] for row in parts.db["guest_passes"].rows_where("pass_hash = ?", [first.pass_hash])] == []
    [link] = parts.db["guest_pass_calls"].rows
    assert link["call_id"] == "c-early" and link["pass_hash"] == passes.check(keys[-1]).pass_hash
    passes.withdraw(admission.participant.participant_id)
    assert parts.db["guest_pass_calls"].count == 0


async def test_an_interpreters_withdrawal_never_touches_the_customers_consent(hub_config):
    """Withdrawal is scoped to the participant whose pass sends it: even with the customer's
    session id in the body, an interpreter deletes only their own consent record and calls."""
    clock = FakeClock()
    parts = HubParts.open(hub_config, clock=clock)
    parts.users.add_user("anna", PASSWORD)
    draft = AppointmentDraft(**DRAFT, participants=[{"role": "interpreter", "email": "dolmetsch@example.org"}])
    _, invitations = AppointmentBook(parts.db, clock).create(draft, "anna")
    customer, interpreter = sorted(invitations, key=lambda i: i.participant.role != "customer")
    async with aiohttp.ClientSession() as http, serving(parts) as (url, _):
        cookies = {}
        for who, sid in ((customer, "s-cust0001"), (interpreter, "s-intp0001")):
            r = await http.post(f"{url}/api/join", json={"token": who.token})
            cookies[who.participant.role] = r.cookies["vk_guest"].value
            r = await http.post(f"{url}/api/join/consent", json={"session_id": sid, "language": "de"},
                                headers={"Cookie": f"vk_guest={cookies[who.participant.role]}"})
            assert r.status == 200
        # The interpreter cannot take over the customer's session id either.
        r = await http.post(f"{url}/api/join/consent", json={"session_id": "s-cust0001", "language": "de"},
                            headers={"Cookie": f"vk_guest={cookies['interpreter']}"})
        assert r.status == 400
        for sid in ("s-cust0001", "s-intp0001"):
            r = await http.post(f"{url}/api/join/withdraw", json={"session_id": sid},
                                headers={"Cookie": f"vk_guest={cookies['interpreter']}"})
            assert r.status == 200
        assert [row["session_id"] for row in parts.db["guest_consents"].rows] == ["s-cust0001"]
