"""Log-in, lockout, cookies, CSRF, security headers, bad messages, stored fields and purge."""

from __future__ import annotations

import json
from datetime import timedelta

import aiohttp
import pytest

from hub.db import purge
from hub.errors import DemoAccountError
from hub.users import UserStore
from rtc.protocol import MAX_MESSAGE_BYTES
from videokiosk.register import columns

from .conftest import PASSWORD
from .test_hub_flow import WAITING


async def test_wrong_password_five_times_makes_this_address_wait(running_hub):
    url = f"{running_hub.url}/api/login"
    for attempt in range(4):
        r = await running_hub.http.post(url, json={"username": "anna", "password": f"wrong{attempt}"})
        assert r.status == 401
        assert (await r.json())["error"] == "wrong"
    r = await running_hub.http.post(url, json={"username": "anna", "password": "wrong5"})
    assert r.status == 429 and (await r.json())["error"] == "locked" and int(r.headers["Retry-After"]) > 1
    # From this address even the right password waits until the back-off is over (another
    # address is not held up: tests/faults/test_security_login.py).
    r = await running_hub.http.post(url, json={"username": "anna", "password": PASSWORD})
    assert r.status == 429
    running_hub.parts.clock.advance(timedelta(seconds=running_hub.parts.config.auth.lockout_s + 1))
    r = await running_hub.http.post(url, json={"username": "anna", "password": PASSWORD})
    assert r.status == 200


async def test_session_cookie_is_httponly_samesite_and_logout_needs_csrf(running_hub):
    s = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    r = await s.post(f"{running_hub.url}/api/login", json={"username": "anna", "password": PASSWORD})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    csrf = (await r.json())["csrf"]
    assert (await s.get(f"{running_hub.url}/api/me")).status == 200
    assert (await s.post(f"{running_hub.url}/api/logout")).status == 403
    assert (await s.post(f"{running_hub.url}/api/logout", headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})).status == 403
    assert (await s.post(f"{running_hub.url}/api/logout", headers={"X-CSRF-Token": csrf})).status == 200
    assert (await s.get(f"{running_hub.url}/api/me")).status == 401
    await s.close()


async def test_advisor_socket_needs_session_and_csrf(running_hub):
    s, csrf = await running_hub.login()
    for url in (f"{running_hub.url}/ws/advisor", f"{running_hub.url}/ws/advisor?csrf=nope"):
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await s.ws_connect(url)
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await s.ws_connect(f"{running_hub.url}/ws/advisor?csrf={csrf}", headers={"Origin": "https://evil.example"})
    await s.close()


@pytest.mark.parametrize("path", ["/", "/console/console.js", "/api/me", "/healthz"])
async def test_security_headers_on_every_page(running_hub, path):
    r = await running_hub.http.get(f"{running_hub.url}{path}")
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["Referrer-Policy"] == "no-referrer"


async def test_malformed_and_oversized_messages_get_errors_and_the_socket_lives_on(running_hub):
    anna = await running_hub.advisor()
    booth = await running_hub.booth()
    bad = [
        ("{not json", "malformed"),
        ('["a list"]', "malformed"),
        ('{"type": "launch_missiles"}', "unknown_type"),
        ('{"type": "waiting", "session_id": "s-0001abcd"}', "unknown_type"),  # advisors may not send it
        ('{"type": "admit", "session_id": "../../etc"}', "invalid"),
        ('{"type": "admit", "session_id": "s-0001abcd", "extra": 1}', "invalid"),
        (json.dumps({"type": "decline", "session_id": "s-0001abcd", "message": "x" * 5000}), "too_large"),
        (json.dumps({"type": "offer", "call_id": "c-0001", "sdp": "v" * (MAX_MESSAGE_BYTES + 10)}), "too_large"),
    ]
    for raw, code in bad:
        await anna.ws.send_str(raw)
        assert (await anna.expect("error"))["code"] == code, raw
    await booth.ws.send_str('{"type": "admit", "session_id": "s-0001abcd"}')
    assert (await booth.expect("error"))["code"] == "unknown_type"
    await booth.ws.send_bytes(b"\x00\x01")
    assert (await booth.expect("error"))["code"] == "malformed"
    # Both sockets still work.
    await booth.send(WAITING)
    await anna.expect("waiting_added")
    await anna.close()
    await booth.close()


async def test_hub_stores_only_consented_call_fields_and_purges_after_14_days(running_hub):
    anna = await running_hub.advisor()
    booth = await running_hub.booth()
    await booth.send({**WAITING, "name": "Erika Muster", "customer_number": "123A456"})
    await anna.expect("waiting_added")
    await anna.send({"type": "admit", "session_id": WAITING["session_id"]})
    call_id = (await booth.expect("admitted"))["call_id"]
    await booth.send({"type": "call_info", "call_id": call_id, "os": "Debian 12", "device": "Raspberry Pi 5",
                      "browser": "aiortc", "upload_kbps": 2000.0, "download_kbps": 9000.0, "quality": "good"})
    await booth.send({"type": "heartbeat"})
    await anna.send({"type": "hangup", "call_id": call_id})
    await booth.expect("call_ended")
    db = running_hub.parts.db
    # Against the declared register (not against the table's own definition): see tests/test_register.py.
    assert set(db["calls"].columns_dict) == columns("hub")["calls"]
    row = db["calls"].get(call_id)
    assert row["name"] == "Erika Muster" and row["ip_address"] == "127.0.0.1" and row["os"] == "Debian 12"
    clock = running_hub.parts.clock
    assert purge(db, clock.now() + timedelta(days=13)) == 0  # expiries are whole days: 13 to 14 days
    assert purge(db, clock.now() + timedelta(days=14)) == 1
    assert db["calls"].count == 0
    await anna.close()
    await booth.close()


def test_real_hub_refuses_to_start_with_the_demo_account(tmp_path):
    from hub.storage import open_database
    from videokiosk.clock import FakeClock

    users = UserStore(open_database(tmp_path / "hub.db"), FakeClock())
    users.refuse_demo_account()
    users.add_demo_account()
    with pytest.raises(DemoAccountError, match="demo"):
        users.refuse_demo_account()


def test_a_removed_advisor_leaves_no_row_and_her_name_given_again_no_role(tmp_path, hub_database):
    """`videokiosk hub remove-user` ends the account, and the register keeps its rows "until removed":
    her roles and her link to the directory go with it. Left behind, a colleague later given the
    same user name would have seen the statistics and acted on booths from her first log-in."""
    from hub.roles import LEAD, TECHNICIAN, grant_role, has_role
    from hub.sso_accounts import SsoAccounts, SsoIdentity
    from hub.storage import open_database
    from videokiosk.clock import FakeClock

    db = open_database(hub_database)
    users = UserStore(db, FakeClock())
    users.add_user("anna", PASSWORD)
    grant_role(db, "anna", TECHNICIAN)
    SsoAccounts(db, FakeClock()).admit(SsoIdentity("oidc", "sub-17", "lena"), {"advisor", LEAD})
    assert users.remove_user("anna") and users.remove_user("lena")
    for table in ("users", "user_roles", "sso_links", "advisor_sessions"):
        assert db.execute(f"SELECT username FROM {table}").fetchall() == [], table
    users.add_user("anna", PASSWORD)  # someone else, years later
    assert not has_role(db, "anna", TECHNICIAN) and not has_role(db, "anna", LEAD)
