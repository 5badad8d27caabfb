"""A home link's holder, once more: consent can be withdrawn at any time (after the appointment
was cancelled, changed or is over too), nothing waits without a consent record, the home socket
speaks a person's part of the booth protocol only, one link fills no table, and odd input gets a
clear answer. Built on the ``home`` fixture of test_security_links.py (a hub with anna, ben and
lena (lead), and an appointment of anna's whose customer link is open)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.appointments import AppointmentBook, AppointmentDraft
from hub.guest_passes import MAX_PASSES_PER_PARTICIPANT
from hub.purge import purge_all
from tests.hub.conftest import Socket
from tests.hub.test_guest_passes import DRAFT

from .test_security_links import _advisor, _guest, _settled, home  # noqa: F401 (fixture)


async def _home_call_that_ended(url, parts, http, cookie, session_id="s-home0001"):
    """The customer at home consents, waits, is admitted by anna and hangs up: the call's row holds
    her name (from the booking) and her IP address. Returns anna's session and CSRF token."""
    r = await http.post(f"{url}/api/join/consent", json={"session_id": session_id, "language": "de"},
                        headers={"Cookie": f"vk_guest={cookie}"})
    assert r.status == 200
    anna, csrf = await _advisor(url)
    console = Socket(await anna.ws_connect(f"{url}/ws/advisor?csrf={csrf}"), anna)
    await console.expect("snapshot")
    guest = await _guest(http, url, cookie)
    await guest.send({"type": "waiting", "session_id": session_id, "language": "de", "kind": "appointment"})
    await console.expect("waiting_added")
    await console.send({"type": "admit", "session_id": session_id})
    call_id = (await guest.expect("admitted"))["call_id"]
    await console.expect("call_customer")  # after the call's row was written
    await guest.send({"type": "hangup", "call_id": call_id, "reason": "ended"})
    await _settled(guest)
    row = parts.db["calls"].get(call_id)
    assert row["name"] == "Erika Mustermann" and row["ip_address"]
    await guest.ws.close()
    await console.ws.close()
    return anna, csrf


@pytest.mark.parametrize("afterwards", ["still open", "cancelled", "changed", "over"])
async def test_a_home_customer_withdraws_after_her_appointment_was_cancelled_changed_or_is_over(home, afterwards):
    """Withdrawal "at any time" (DEVELOPERS.md 6): the link no longer opens, but her withdrawal
    still deletes her consent record and her call's row (name, IP address) at once, and the pass
    stays until then however the purge runs meanwhile."""
    url, parts, http, cookie, appointment = home
    anna, csrf = await _home_call_that_ended(url, parts, http, cookie)
    path = f"{url}/api/appointments/{appointment.appointment_id}"
    if afterwards == "cancelled":
        assert (await anna.post(f"{path}/cancel", headers={"X-CSRF-Token": csrf})).status == 200
    elif afterwards == "changed":  # new links mailed: her participant row is gone
        r = await anna.post(path, json={**DRAFT, "starts_local": "2026-01-01T10:30"}, headers={"X-CSRF-Token": csrf})
        assert r.status == 200
    elif afterwards == "over":
        parts.clock.advance(appointment.closes_at - parts.clock.now() + timedelta(seconds=1))
    await anna.close()
    purge_all(parts.db, parts.clock.now())  # the hourly purge keeps what a withdrawal still needs
    r = await http.post(f"{url}/api/join/withdraw", json={"session_id": "s-home0001"},
                        headers={"Cookie": f"vk_guest={cookie}"})
    left = (parts.db["guest_consents"].count, parts.db["calls"].count)
    assert r.status == 200 and left == (0, 0), (r.status, await r.text(), "consents, calls left:", left)
    purge_all(parts.db, parts.clock.now())
    if afterwards == "changed":  # nothing left to withdraw: the old pass goes with the next purge
        assert parts.db["guest_passes"].count == 0


async def test_withdrawing_needs_a_pass_of_ones_own(home):
    url, parts, http, cookie, _ = home
    await _home_call_that_ended(url, parts, http, cookie)
    for headers in ({}, {"Cookie": "vk_guest=" + "x" * 43}):
        r = await http.post(f"{url}/api/join/withdraw", json={"session_id": "s-home0001"}, headers=headers)
        assert r.status == 401
    assert (parts.db["guest_consents"].count, parts.db["calls"].count) == (1, 1)


async def test_no_one_waits_without_a_consent_record(home):
    """The consent record comes before anything else: a link holder who skipped POST
    /api/join/consent is refused the waiting room, so no admit can store a call row for her."""
    url, parts, http, cookie, _ = home
    guest = await _guest(http, url, cookie)
    await guest.send({"type": "waiting", "session_id": "s-noconsent1", "language": "de", "kind": "appointment"})
    assert (await guest.expect("error"))["code"] == "no_consent"
    assert [e.session_id for e in await parts.state.waiting()] == []
    await guest.ws.close()


@pytest.mark.parametrize("msg", [
    {"type": "health", "seq": 1, "version": "x", "os": "Erika Mustermann 0123456789", "uptime_s": 1, "activity": "idle"},
    {"type": "action_result", "action_id": "a-1", "ok": True, "detail": "Erika Mustermann"},
    {"type": "appointment_check", "code": "K7M2X9PQ"},
    {"type": "status", "faults": ["camera_fault"]},
])
async def test_the_home_socket_speaks_a_persons_part_of_the_booth_protocol_only(home, msg):
    """No fleet health (a row the purge never takes, and a /metrics series), no technicians'
    action results, no code check at a booth, no device faults: refused as not accepted here."""
    url, parts, http, cookie, _ = home
    guest = await _guest(http, url, cookie)
    await guest.send(msg)
    error = await guest.expect("error")
    assert error["code"] == "unknown_type" and error["ref"] == msg["type"]
    await guest.ws.close()
    parts.clock.advance(timedelta(days=15))
    purge_all(parts.db, parts.clock.now())
    metrics = await (await http.get(f"{url}/metrics")).text()
    assert parts.db["booth_health"].count == 0 and "Erika" not in metrics


async def test_one_link_fills_no_table_and_keeps_its_calls_for_a_withdrawal(home):
    """Every page load opens the link anew (a pass each): a link holder opening it a hundred times
    leaves MAX_PASSES_PER_PARTICIPANT passes, the newest; the call and consent made with the first
    one still go with a withdrawal from the newest page load (one link is one person)."""
    url, parts, http, _, _ = home
    _, [invitation] = AppointmentBook(parts.db, parts.clock).create(AppointmentDraft(**DRAFT), "anna")
    first = await http.post(f"{url}/api/join", json={"token": invitation.token})
    anna, _ = await _home_call_that_ended(url, parts, http, first.cookies["vk_guest"].value, "s-early001")
    await anna.close()
    for _ in range(100):
        newest = await http.post(f"{url}/api/join", json={"token": invitation.token})
        assert newest.status == 200
    mine = parts.db.execute("SELECT COUNT(*) FROM guest_passes WHERE participant_id = ?",
                            [invitation.participant.participant_id]).fetchone()[0]
    assert mine == MAX_PASSES_PER_PARTICIPANT
    latest = {"Cookie": f"vk_guest={newest.cookies['vk_guest'].value}"}
    r = await http.post(f"{url}/api/join/consent", json={"session_id": "s-late0001", "language": "de"}, headers=latest)
    assert r.status == 200 and parts.db["guest_consents"].count == 2
    r = await http.post(f"{url}/api/join/withdraw", json={"session_id": "s-late0001"}, headers=latest)
    assert r.status == 200 and parts.db["calls"].count == 0 and parts.db["guest_consents"].count == 0


async def test_a_consent_with_an_overlong_language_is_a_clear_400(home):
    """The language was looked up as a file before its pattern was checked: 300 characters made
    the file name too long for the disk, and the hub answered 500."""
    url, parts, http, cookie, _ = home
    for language in ("a" * 300, "../de", None, 7):
        r = await http.post(f"{url}/api/join/consent", json={"session_id": "s-home0001", "language": language},
                            headers={"Cookie": f"vk_guest={cookie}"})
        assert r.status == 400 and (await r.json())["reason"] == "invalid"
    assert parts.db["guest_consents"].count == 0
