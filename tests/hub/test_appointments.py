"""Appointments: booking, links and codes, the time window, rate limits, purge, and the HTTP API."""

from __future__ import annotations

import datetime as dt
import email
import logging
from email import policy

import pytest

from hub.appointments import (CODE_ALPHABET, AppointmentBook, AppointmentDraft, AppointmentError,
                              normalise_code, purge_appointments)
from hub.config import HubConfig
from hub.storage import open_database
from videokiosk.clock import FakeClock

from .conftest import PASSWORD, store_for

START = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc)
DRAFT = dict(starts_local="2026-03-02T10:30", language="de", customer_email="kunde@example.org",
             customer_number="123D456789", name="Erika Mustermann",
             participants=[{"role": "interpreter", "email": "dolmetsch@example.org"},
                           {"role": "legal_representative", "email": "betreuer@example.org"}])


@pytest.fixture
def clock():
    return FakeClock(START)


@pytest.fixture
def book(hub_database, clock):
    return AppointmentBook(open_database(hub_database), clock)


def at_berlin(clock: FakeClock, local: str) -> None:
    target = dt.datetime.fromisoformat(local).replace(tzinfo=dt.timezone(dt.timedelta(hours=1)))  # CET in March
    clock.advance(target - clock.now())


def test_secrets_are_strong_stored_hashed_and_codes_easy_to_type(book):
    appointment, invitations = book.create(AppointmentDraft(**DRAFT), "anna")
    assert [i.participant.role for i in invitations] == ["customer", "interpreter", "legal_representative"]
    assert len({i.token for i in invitations}) == 3 and all(len(i.token) >= 43 for i in invitations)  # >= 256 bits
    for inv in invitations:
        assert len(inv.code) == 8 and set(inv.code) <= set(CODE_ALPHABET)
    assert not set("01OIL") & set(CODE_ALPHABET)
    dump = "\n".join(book._db.iterdump())  # noqa: SLF001 - the whole database file, as text
    for inv in invitations:
        assert inv.token not in dump and inv.code not in dump
    # Extra participants: role and e-mail address, no name column at all
    columns = set(book._db["appointment_participants"].columns_dict)  # noqa: SLF001
    assert columns == {"participant_id", "appointment_id", "role", "email", "token_hash", "code_hash",
                       "agreed_by", "agreed_at", "expires_at",  # agreed_*: the prior agreement to a further participant
                       "list_order"}
    assert normalise_code(f"{inv.code[:4].lower()} - {inv.code[4:]}") == inv.code


def test_window_opens_30_minutes_before_and_closes_after_the_appointment(book, clock):
    appointment, [customer, *_] = book.create(AppointmentDraft(**DRAFT), "anna")
    assert appointment.local_start.strftime("%H:%M") == "10:30"
    at_berlin(clock, "2026-03-02T09:59")
    with pytest.raises(AppointmentError) as early:
        book.admit_token(customer.token, client="x")
    assert early.value.reason == "too_early" and early.value.opens_at.astimezone(appointment.local_start.tzinfo).strftime("%H:%M") == "10:00"
    at_berlin(clock, "2026-03-02T10:00")
    assert book.admit_token(customer.token, client="x").appointment.appointment_id == appointment.appointment_id
    assert book.admit_code(customer.code, client="x").participant.role == "customer"
    at_berlin(clock, "2026-03-02T11:31")  # 30 min + 30 min grace after 10:30
    with pytest.raises(AppointmentError) as late:
        book.admit_token(customer.token, client="x")
    assert late.value.reason == "expired"


def test_cancelled_and_changed_appointments(book, clock):
    appointment, [customer, *_] = book.create(AppointmentDraft(**DRAFT), "anna")
    at_berlin(clock, "2026-03-02T10:10")
    changed, fresh = book.update(appointment.appointment_id, AppointmentDraft(**{**DRAFT, "starts_local": "2026-03-02T10:20"}))
    assert changed.sequence == 1 and changed.local_start.strftime("%H:%M") == "10:20"
    with pytest.raises(AppointmentError) as old:
        book.admit_token(customer.token, client="x")  # the change mail carries new links
    assert old.value.reason == "unknown"
    assert book.admit_token(fresh[0].token, client="x").participant.role == "customer"
    book.cancel(appointment.appointment_id)
    with pytest.raises(AppointmentError) as gone:
        book.admit_code(fresh[0].code, client="x")
    assert gone.value.reason == "cancelled"
    with pytest.raises(AppointmentError):
        book.update(appointment.appointment_id, AppointmentDraft(**DRAFT))


def guess_wrong(admit, clock, times: int) -> None:
    """``times`` wrong guesses, each after the longest wait (so each one is checked and counted)."""
    for n in range(times):
        if n:
            clock.advance(dt.timedelta(minutes=1))
        with pytest.raises(AppointmentError) as wrong:
            admit(f"ZZZZ{n:04d}")
        assert wrong.value.reason == "unknown"


def test_guessing_is_slowed_down_and_logged_without_personal_data(book, clock, caplog):
    _, [customer, *_] = book.create(AppointmentDraft(**DRAFT), "anna")
    at_berlin(clock, "2026-03-02T10:15")
    caplog.set_level(logging.INFO, logger="hub.appointments")
    guess_wrong(lambda code: book.admit_code(code, client="203.0.113.7"), clock, 10)
    with pytest.raises(AppointmentError) as limited:
        book.admit_code(customer.code, client="203.0.113.7")  # even the right code, while the wait runs
    assert limited.value.reason == "rate_limited" and 0 < limited.value.retry_after_s <= 60
    assert book.admit_code(customer.code, client="198.51.100.1").participant.role == "customer"  # others unaffected
    clock.advance(dt.timedelta(seconds=limited.value.retry_after_s))
    assert book.admit_code(customer.code, client="203.0.113.7")
    logged = caplog.text
    assert "unknown code presented" in logged and "rate-limited" in logged
    for personal in ("203.0.113.7", "198.51.100.1", "kunde@", "Mustermann", "123D456789", customer.code, customer.token):
        assert personal not in logged


def test_rows_carry_expiry_and_are_purged(book, clock):
    appointment, _ = book.create(AppointmentDraft(**DRAFT), "anna")
    db = book._db  # noqa: SLF001
    expiries = {r["expires_at"] for t in ("appointments", "appointment_participants") for r in db[t].rows}
    assert len(expiries) == 1
    expires = dt.datetime.fromisoformat(expiries.pop())
    assert expires - appointment.closes_at == dt.timedelta(days=14)
    assert purge_appointments(db, expires - dt.timedelta(seconds=1)) == 0
    assert purge_appointments(db, expires) == 4
    assert db["appointments"].count == 0 and db["appointment_participants"].count == 0


def test_drafts_are_validated():
    for bad in ({"customer_email": "not-an-address"}, {"language": "fr"}, {"starts_local": "tomorrow"},
                {"participants": [{"role": "boss", "email": "a@b.de"}]},
                {"participants": [{"role": "other", "email": f"p{i}@b.de"} for i in range(4)]},
                {"participants": [{"role": "other", "email": "a@b.de", "name": "Not stored"}]}):
        with pytest.raises(ValueError):
            AppointmentDraft(**{**DRAFT, **bad})


# --- over HTTP -----------------------------------------------------------------------------------


@pytest.fixture
def hub_config(tmp_path, hub_database) -> HubConfig:
    return HubConfig.model_validate({
        "store": store_for(hub_database),  # every test here on SQLite and on PostgreSQL
        "mail": {"eml_dir": str(tmp_path / "mails"), "public_url": "https://hub.example"},
    })


async def test_advisor_api_books_lists_changes_cancels_and_the_join_endpoint_explains(running_hub):
    hub = running_hub
    s, csrf = await hub.login("anna", PASSWORD)
    draft = {**DRAFT, "starts_local": "2026-01-01T09:45"}  # FakeClock: 2026-01-01 09:00 Berlin
    r = await s.post(f"{hub.url}/api/appointments", json=draft)
    assert r.status == 403  # no CSRF token
    r = await s.post(f"{hub.url}/api/appointments", json={**draft, "customer_email": "x"}, headers={"X-CSRF-Token": csrf})
    assert r.status == 400 and (await r.json())["fields"] == ["customer_email"]
    r = await s.post(f"{hub.url}/api/appointments", json=draft, headers={"X-CSRF-Token": csrf})
    assert r.status == 201, await r.text()
    created = await r.json()
    assert created["starts_local"] == "2026-01-01T09:45" and created["customer_email"] == "kunde@example.org"
    assert [m["role"] for m in created["mails"]] == ["customer", "interpreter", "legal_representative"]
    listing = await (await s.get(f"{hub.url}/api/appointments")).json()
    assert [a["appointment_id"] for a in listing["appointments"]] == [created["appointment_id"]]
    assert (await hub.http.get(f"{hub.url}/api/appointments")).status == 401

    # The customer opens the link too early: a kind "not yet", with the opening time
    # (the token is only in the mail: read it back from the outbox table)
    row = next(hub.parts.db["mail_outbox"].rows_where("role = 'customer'"))
    text = email.message_from_bytes(row["message"], policy=policy.default).get_body(("plain",)).get_content()
    token = next(line for line in text.splitlines() if line.startswith("https://hub.example/join#")).split("#")[1]
    r = await hub.http.post(f"{hub.url}/api/join", json={"token": token})
    body = await r.json()
    assert r.status == 403 and body["reason"] == "too_early"
    assert dt.datetime.fromisoformat(body["opens_at"]) == dt.datetime(2026, 1, 1, 8, 15, tzinfo=dt.timezone.utc)
    hub.parts.clock.advance(dt.timedelta(minutes=20))
    r = await hub.http.post(f"{hub.url}/api/join", json={"token": token})
    assert r.status == 200
    assert await r.json() == {"appointment_at": "2026-01-01T08:45:00+00:00", "appointment_local": "09:45",
                              "appointment_date": "2026-01-01", "language": "de", "role": "customer"}
    r = await s.post(f"{hub.url}/api/appointments/{created['appointment_id']}/cancel", headers={"X-CSRF-Token": csrf})
    assert (await r.json())["status"] == "cancelled"
    r = await hub.http.post(f"{hub.url}/api/join", json={"token": token})
    assert r.status == 410 and (await r.json())["reason"] == "cancelled"
    kinds = [r["kind"] for r in hub.parts.db["mail_outbox"].rows_where("role = 'customer'", order_by="mail_id")]
    assert kinds == ["invite", "cancel"]
    await s.close()


async def test_booth_checks_a_code_and_the_advisor_sees_the_appointment(running_hub):
    hub = running_hub
    s, csrf = await hub.login("anna", PASSWORD)
    draft = {**DRAFT, "starts_local": "2026-01-01T09:20", "participants": []}
    r = await s.post(f"{hub.url}/api/appointments", json=draft, headers={"X-CSRF-Token": csrf})
    assert r.status == 201
    row = next(hub.parts.db["mail_outbox"].rows_where("role = 'customer'"))
    text = email.message_from_bytes(row["message"], policy=policy.default).get_body(("plain",)).get_content()
    lines = text.splitlines()
    code = lines[lines.index(next(l for l in lines if "diesen Code eingeben" in l)) + 1]
    assert len(code) == 9 and code[4] == "-"

    booth, advisor = await hub.booth(), await hub.advisor()
    for n in range(3):  # three free wrong codes, then a wait at this booth
        await booth.send({"type": "appointment_check", "code": f"ZZZZ-{n:04d}"})
        assert (await booth.expect("appointment_result"))["reason"] == "unknown"
    await booth.send({"type": "appointment_check", "code": code})
    assert (await booth.expect("appointment_result"))["reason"] == "rate_limited"
    hub.parts.clock.advance(dt.timedelta(minutes=1))
    await booth.send({"type": "appointment_check", "code": code.lower().replace("-", " ")})
    result = await booth.expect("appointment_result")
    assert result == {"type": "appointment_result", "ok": True, "reason": None, "appointment_at": "2026-01-01T08:20:00+00:00",
                      "opens_at": None, "language": "de", "role": "customer"}
    await booth.send({"type": "appointment_check", "code": "<script>"})
    assert (await booth.expect("error"))["code"] == "invalid"
    await booth.send({"type": "appointment_check", "code": code, "token": "x" * 43})
    assert (await booth.expect("error"))["code"] == "invalid"  # one or the other
    # The invitation's QR code carries the link: the booth camera reads it and sends the token
    token = next(l for l in lines if "/join#" in l).split("#")[1]
    await booth.send({"type": "appointment_check", "token": token})
    assert (await booth.expect("appointment_result"))["ok"] is True
    await booth.send({"type": "waiting", "session_id": "s-appt0001", "language": "de", "kind": "appointment",
                      "appointment_at": result["appointment_at"]})
    entry = (await advisor.expect("waiting_added"))["entry"]
    assert entry["kind"] == "appointment" and entry["appointment_at"] == "2026-01-01T08:20:00+00:00"
    for sock in (booth, advisor):
        await sock.close()
    await s.close()


async def test_guessing_links_over_http_is_limited_and_the_guest_socket_needs_the_cookie(running_hub):
    hub = running_hub
    for n in range(3):  # three free wrong links, then a wait for this address
        r = await hub.http.post(f"{hub.url}/api/join", json={"token": f"guess-{n}"})
        assert r.status == 404 and (await r.json())["reason"] == "unknown"
    r = await hub.http.post(f"{hub.url}/api/join", json={"token": "guess-x"})
    assert r.status == 429 and (await r.json())["reason"] == "rate_limited"
    assert int(r.headers["Retry-After"]) == (await r.json())["retry_after_s"] > 0
    r = await hub.http.post(f"{hub.url}/api/join", data=b"not json")
    assert r.status == 400
    r = await hub.http.get(f"{hub.url}/ws/guest")
    assert r.status == 401  # no personal link opened: no socket
    r = await hub.http.post(f"{hub.url}/api/join/consent", json={"session_id": "s-1234", "language": "de"})
    assert r.status == 401


def test_user_agent_gives_only_os_device_and_browser():
    from hub.guest import parse_user_agent

    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
    assert parse_user_agent(iphone) == {"os": "iOS", "device": "Smartphone", "browser": "Safari 17"}
    edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0"
    assert parse_user_agent(edge) == {"os": "Windows", "device": "Computer", "browser": "Edge 120"}
    tablet = "Mozilla/5.0 (Android 14; Tablet; rv:121.0) Gecko/121.0 Firefox/121.0"
    assert parse_user_agent(tablet) == {"os": "Android", "device": "Tablet", "browser": "Firefox 121"}
    assert parse_user_agent("x" * 10_000) == {"os": "other", "device": "Computer", "browser": "other"}


async def test_mails_and_home_consents_are_purged_with_the_appointment(running_hub):
    from hub.guest import purge_guest_consents
    from hub.outbox import purge_outbox

    hub = running_hub
    s, csrf = await hub.login("anna", PASSWORD)
    r = await s.post(f"{hub.url}/api/appointments", json={**DRAFT, "starts_local": "2026-01-01T09:20"},
                     headers={"X-CSRF-Token": csrf})
    created = await r.json()
    db = hub.parts.db
    db["guest_consents"].insert({"session_id": "s-1234", "language": "de", "text_hash": "sha256:x",
                                 "consented_at": START.isoformat(), "expires_at": "2026-01-15T08:00:00+00:00"})
    [appointment_expiry] = {r["expires_at"] for r in db["appointments"].rows}
    assert {r["expires_at"] for r in db["mail_outbox"].rows} == {appointment_expiry}
    late = dt.datetime.fromisoformat(appointment_expiry)
    assert purge_outbox(db, late) == 3 and purge_appointments(db, late) == 4 and purge_guest_consents(db, late) == 1
    assert (await (await s.get(f"{hub.url}/api/appointments")).json())["appointments"] == []
    assert created["appointment_id"]
    await s.close()
