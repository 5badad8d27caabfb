"""The hub's fleet board: booths' health over their own link, the technician-only API, actions with
their audit trail and the busy guard, Prometheus figures by booth, and the staged rollout."""

from __future__ import annotations

import asyncio
import json

import pytest

from hub.roles import LEAD, TECHNICIAN, grant_role

from .conftest import PASSWORD

HEALTH = {
    "type": "health", "seq": 1, "version": "0.1.0", "os": "Linux 6.1.0", "uptime_s": 42.0, "watchdog_restarts": 2,
    "devices": {"camera": "ok", "microphone": "ok", "speaker": "ok", "button": "ok", "led": "ok"},
    "disk_free_bytes": 5_000_000_000, "cpu_temp_c": 51.5, "activity": "idle",
}


@pytest.fixture
def fleet_hub(running_hub):
    parts = running_hub.parts
    parts.users.add_user("tom", PASSWORD)
    parts.users.add_user("lea", PASSWORD)
    grant_role(parts.db, "tom", TECHNICIAN)
    grant_role(parts.db, "lea", LEAD)
    return running_hub


async def technician(hub, user: str = "tom"):
    session, csrf = await hub.login(user)
    return session, {"X-CSRF-Token": csrf}


async def test_health_is_acked_kept_and_shown_to_technicians_only(fleet_hub):
    for user, status in (("anna", 403), ("lea", 403)):  # an advisor, a team lead: not technicians
        s, _ = await technician(fleet_hub, user)
        r = await s.get(f"{fleet_hub.url}/api/fleet")
        assert r.status == status and (await r.json())["error"] == "not_technician"
        await s.close()
    r = await fleet_hub.http.get(f"{fleet_hub.url}/api/fleet")
    assert r.status == 401
    # Logged in first: a booth socket nobody reads misses the hub's pings while argon2 runs.
    s, _ = await technician(fleet_hub)
    booth = await fleet_hub.booth()
    await booth.send(HEALTH)
    assert (await booth.expect("health_ack"))["seq"] == 1
    data = await (await s.get(f"{fleet_hub.url}/api/fleet")).json()
    row = data["booths"][0]
    assert (row["booth_id"], row["location"], row["online"], row["problems"]) == ("jc-halle-1", "Musterstadt", True, [])
    assert row["health"]["watchdog_restarts"] == 2 and row["health"]["cpu_temp_c"] == 51.5 and row["last_seen"]
    await s.close()
    await booth.close()


async def test_problems_come_first_and_the_office_filter_narrows(fleet_hub):
    reg = fleet_hub.parts.registry
    tokens = {bid: reg.create_booth(bid, name, office) for bid, name, office in
              (("a-ok", "A", "Aachen"), ("b-cam", "B", "Bonn"), ("c-oos", "C", "Aachen"))}
    s, _ = await technician(fleet_hub)  # before the sockets, which nobody reads (see above)
    sockets = []
    for bid, extra in (("a-ok", {}), ("b-cam", {"devices": {**HEALTH["devices"], "camera": "fault"}}),
                       ("c-oos", {"activity": "out_of_service", "out_of_service_reason": "device_missing"})):
        sock = await fleet_hub.booth(tokens[bid])
        await sock.send({**HEALTH, **extra})
        await sock.expect("health_ack")
        sockets.append(sock)
    data = await (await s.get(f"{fleet_hub.url}/api/fleet")).json()
    order = [(r["booth_id"], r["problems"]) for r in data["booths"]]
    # jc-halle-1 never connected: offline; the two with problems before the healthy ones.
    assert [bid for bid, problems in order if problems] == ["c-oos", "b-cam", "jc-halle-1"]
    assert dict(order)["b-cam"] == ["camera_fault"] and dict(order)["c-oos"] == ["out_of_service"]
    assert order[-1] == ("a-ok", [])
    aachen = await (await s.get(f"{fleet_hub.url}/api/fleet", params={"office": "Aachen"})).json()
    assert {r["booth_id"] for r in aachen["booths"]} == {"a-ok", "c-oos"}
    assert data["offices"] == ["Aachen", "Bonn", "Musterstadt"]
    await s.close()
    for sock in sockets:
        await sock.close()


async def test_prometheus_shows_each_booths_figures_with_a_booth_label(fleet_hub):
    booth = await fleet_hub.booth()
    await booth.send({**HEALTH, "selftest": {"ok": False, "at": "2026-01-01T10:00:00+00:00", "failed": ["speaker"]}})
    await booth.expect("health_ack")
    text = await (await fleet_hub.http.get(f"{fleet_hub.url}/metrics")).text()
    for line in ('videokiosk_fleet_booth_up{booth="jc-halle-1"} 1.0',
                 'videokiosk_fleet_booth_watchdog_restarts{booth="jc-halle-1"} 2.0',
                 'videokiosk_fleet_booth_device_ok{booth="jc-halle-1",device="camera"} 1.0',
                 'videokiosk_fleet_booth_selftest_passed{booth="jc-halle-1"} 0.0',
                 'videokiosk_fleet_booth_cpu_temperature_celsius{booth="jc-halle-1"} 51.5',
                 'videokiosk_fleet_booth_activity{activity="idle",booth="jc-halle-1"} 1.0',
                 'videokiosk_fleet_booth_info{booth="jc-halle-1",os="Linux 6.1.0",version="0.1.0"} 1.0'):
        assert line in text, line
    await booth.close()


async def answer_actions(booth, replies: dict[str, dict]) -> list[dict]:
    """Play the booth: answer every fleet_action with ``replies[action]``; returns what came."""
    seen = []
    while True:
        msg = await booth.expect("fleet_action", timeout=10)
        seen.append(msg)
        await booth.send({"type": "action_result", "action_id": msg["action_id"], **replies[msg["action"]]})


async def test_an_action_reaches_the_booth_and_its_answer_and_the_audit_come_back(fleet_hub):
    booth = await fleet_hub.booth()
    await booth.send(HEALTH)
    player = asyncio.ensure_future(answer_actions(booth, {"selftest": {"ok": True, "detail": "CHECK  RESULT\ncamera PASS"}}))
    s, headers = await technician(fleet_hub)
    r = await s.post(f"{fleet_hub.url}/api/fleet/jc-halle-1/actions", json={"action": "selftest"}, headers=headers)
    assert r.status == 200
    assert (await r.json())["detail"] == "CHECK  RESULT\ncamera PASS"
    audit = (await (await s.get(f"{fleet_hub.url}/api/fleet/audit")).json())["audit"]
    assert audit[0] | {"at": None} == {"at": None, "username": "tom", "booth_id": "jc-halle-1", "action": "selftest",
                                       "forced": False, "outcome": "ok"}
    # Without the CSRF token, or with a bad body, or for a booth nobody knows: clear errors, no 500.
    assert (await s.post(f"{fleet_hub.url}/api/fleet/jc-halle-1/actions", json={"action": "selftest"})).status == 403
    r = await s.post(f"{fleet_hub.url}/api/fleet/jc-halle-1/actions", data="{", headers=headers)
    assert r.status == 400
    r = await s.post(f"{fleet_hub.url}/api/fleet/jc-halle-1/actions", json={"action": "format_disk"}, headers=headers)
    assert r.status == 400
    r = await s.post(f"{fleet_hub.url}/api/fleet/nobody-here/actions", json={"action": "selftest"}, headers=headers)
    assert r.status == 404
    player.cancel()
    await s.close()
    await booth.close()


async def test_a_busy_booth_is_refused_until_forced_and_the_audit_holds_no_customer_data(fleet_hub):
    booth = await fleet_hub.booth()
    await booth.send(HEALTH)
    await booth.send({"type": "waiting", "session_id": "s-waiting1", "language": "de",
                      "name": "Erika Mustermann", "customer_number": "KN-4711"})
    await booth.expect("queue_update")
    player = asyncio.ensure_future(answer_actions(booth, {"out_of_service": {"ok": True, "detail": "out of service"}}))
    s, headers = await technician(fleet_hub)
    url = f"{fleet_hub.url}/api/fleet/jc-halle-1/actions"
    r = await s.post(url, json={"action": "out_of_service"}, headers=headers)
    assert r.status == 409 and await r.json() == {"error": "busy", "activity": "waiting"}
    r = await s.post(url, json={"action": "out_of_service", "force": True}, headers=headers)
    assert r.status == 200 and (await r.json())["ok"] is True
    audit = (await (await s.get(f"{fleet_hub.url}/api/fleet/audit")).json())["audit"]
    assert [(a["action"], a["forced"], a["outcome"]) for a in audit] == [
        ("out_of_service", True, "ok"), ("out_of_service", False, "refused: busy")]
    stored = json.dumps(fleet_hub.parts.db.execute("SELECT * FROM fleet_audit").fetchall())
    assert "Erika" not in stored and "KN-4711" not in stored and "s-waiting1" not in stored
    player.cancel()
    await s.close()
    await booth.close()


async def test_an_offline_booth_or_a_silent_one_gets_a_clear_answer(fleet_hub, monkeypatch):
    s, headers = await technician(fleet_hub)
    r = await s.post(f"{fleet_hub.url}/api/fleet/jc-halle-1/actions", json={"action": "reboot"}, headers=headers)
    assert r.status == 409 and (await r.json())["error"] == "offline"
    import hub.fleet_web as fleet_web

    monkeypatch.setattr(fleet_web, "DEFAULT_ANSWER_TIMEOUT_S", 0.3)
    booth = await fleet_hub.booth()  # connected, but never answers
    r = await s.post(f"{fleet_hub.url}/api/fleet/jc-halle-1/actions", json={"action": "reboot"}, headers=headers)
    assert r.status == 504 and (await r.json())["error"] == "no_answer"
    await s.close()
    await booth.close()


async def test_the_shipped_grafana_dashboard_reads_only_metrics_the_hub_exports(fleet_hub):
    import re
    from pathlib import Path

    booth = await fleet_hub.booth()
    await booth.send({**HEALTH, "link_rtt_ms": 12.0, "selftest": {"ok": True, "at": "2026-01-01T10:00:00+00:00"}})
    await booth.expect("health_ack")
    exported = set(re.findall(r"^(videokiosk_fleet_booth_[a-z_]+)[{ ]",
                              await (await fleet_hub.http.get(f"{fleet_hub.url}/metrics")).text(), re.M))
    dashboard = json.loads((Path(__file__).parents[2] / "docs" / "grafana-fleet.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"videokiosk_fleet_booth_[a-z_]+", expr)}
    assert used and used <= exported, used - exported
    await booth.close()


async def test_a_staged_rollout_goes_to_a_few_first_then_all_and_pauses_when_one_rolls_back(fleet_hub):
    """The hub's side of an update (the A/B install and the fallback itself are RAUC's, in the VM)."""
    reg = fleet_hub.parts.registry
    ids = ["bo-1", "bo-2", "bo-3", "bo-4"]
    socks = {}
    for bid in ids:
        socks[bid] = await fleet_hub.booth(reg.create_booth(bid, bid.upper(), "Aachen"))
        await socks[bid].send(HEALTH)
        await socks[bid].expect("health_ack")
    asked: list[str] = []

    async def booth_side(bid: str) -> None:
        while True:
            msg = await socks[bid].expect("fleet_action", timeout=30)
            assert msg["action"] == "install_update" and msg["version"] == "0.2.0"
            asked.append(bid)
            await socks[bid].send({"type": "action_result", "action_id": msg["action_id"], "ok": True})

    players = [asyncio.ensure_future(booth_side(bid)) for bid in ids]
    s, headers = await technician(fleet_hub)
    bundle = {"bundle_url": "https://updates.example.org/videokiosk-0.2.0.raucb", "version": "0.2.0", "first": 2}
    r = await s.post(f"{fleet_hub.url}/api/fleet/rollout", json=bundle, headers=headers)
    assert r.status == 200, await r.text()
    first = sorted(asked)
    assert len(first) == 2 and (await r.json())["phase"] == "first_wave"
    assert (await s.post(f"{fleet_hub.url}/api/fleet/rollout", json=bundle, headers=headers)).status == 409

    async def rollout() -> dict:
        return (await (await s.get(f"{fleet_hub.url}/api/fleet")).json())["rollout"]

    async def report(bid: str, version: str, state: str, then, slot: str = "A") -> dict:
        """The booth reports where it stands; returns the rollout once ``then(rollout)`` holds."""
        await socks[bid].send({**HEALTH, "seq": 2, "version": version,
                               "update": {"state": state, "target_version": "0.2.0", "booted_slot": slot}})
        for _ in range(200):  # the hub handles the report, and asks the next wave, in the background
            status = await rollout()
            if status["booths"][bid] == state and then(status):
                return status
            await asyncio.sleep(0.05)
        raise AssertionError(f"rollout never got there: {status}")

    await report(first[0], "0.2.0", "installed", lambda r: r["phase"] == "first_wave")  # booted, not yet proven
    await report(first[0], "0.2.0", "good", lambda r: r["phase"] == "first_wave")  # the other is not back yet
    await report(first[1], "0.2.0", "good", lambda r: r["phase"] == "all" and len(r["booths"]) == 4
                 and "asked" not in r["booths"].values(), slot="B")
    assert sorted(asked) == ids
    rest = [bid for bid in ids if bid not in first]
    status = await report(rest[0], "0.1.0", "rolled_back", lambda r: r["phase"] == "paused")  # never came up good
    assert rest[0] in status["reason"]
    # The rollout is in the database, not in this hub process: another instance (or this one after
    # a restart) sees the same pause and would refuse a second rollout.
    from types import SimpleNamespace

    from hub.fleet import FleetBoard
    from hub.rollout import Rollouts

    elsewhere = Rollouts(SimpleNamespace(board=FleetBoard(fleet_hub.parts.db)))
    assert elsewhere.status() == status
    data = await (await s.get(f"{fleet_hub.url}/api/fleet")).json()
    assert "update_rolled_back" in next(r for r in data["booths"] if r["booth_id"] == rest[0])["problems"]
    # The fleet page says which slot each booth runs from (the updated one from B).
    assert next(r for r in data["booths"] if r["booth_id"] == first[1])["health"]["update"]["booted_slot"] == "B"
    r = await s.post(f"{fleet_hub.url}/api/fleet/rollout/cancel", headers=headers)
    assert (await r.json())["rollout"]["phase"] == "cancelled"
    r = await s.post(f"{fleet_hub.url}/api/fleet/rollout", json={**bundle, "bundle_url": "file:///etc/passwd"}, headers=headers)
    assert r.status == 400
    for player in players:
        player.cancel()
    await s.close()
    for sock in socks.values():
        await sock.close()
