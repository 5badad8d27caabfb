"""The hub over real sockets: waiting room, notification, admit race, decline, relay, rejoin."""

from __future__ import annotations

import asyncio

import aiohttp

WAITING = {"type": "waiting", "session_id": "s-0001abcd", "language": "de", "kind": "walk_in"}
SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"


async def test_booth_with_a_wrong_token_is_refused(running_hub):
    async with aiohttp.ClientSession() as s:
        try:
            await s.ws_connect(f"{running_hub.url}/ws/booth", headers={"Authorization": "Bearer guessed"})
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.status == 401
        else:
            raise AssertionError("a guessed token opened a booth socket")


async def test_revoked_token_is_refused(running_hub):
    running_hub.parts.registry.revoke("jc-halle-1")
    async with aiohttp.ClientSession() as s:
        r = await s.get(f"{running_hub.url}/ws/booth", headers={"Authorization": f"Bearer {running_hub.booth_token}"})
        assert r.status == 401


async def test_waiting_customer_reaches_every_advisor_and_booth_hears_informed(running_hub):
    anna, ben = await running_hub.advisor("anna"), await running_hub.advisor("ben")
    booth = await running_hub.booth()
    await booth.send({**WAITING, "name": "Erika Muster"})
    for adv in (anna, ben):
        added = (await adv.expect("waiting_added"))["entry"]
        assert added["booth_name"] == "Halle 1" and added["language"] == "de" and added["kind"] == "walk_in"
        assert added["name"] == "Erika Muster" and added["since"]
    update = await booth.expect("queue_update")
    assert update["position"] == 1
    await anna.send({"type": "seen", "session_id": WAITING["session_id"]})
    await ben.send({"type": "seen", "session_id": WAITING["session_id"]})
    await booth.expect("advisor_informed", session_id=WAITING["session_id"])
    await booth.send({"type": "waiting_update", "session_id": WAITING["session_id"], "customer_number": "123A456"})
    assert (await ben.expect("waiting_updated"))["entry"]["customer_number"] == "123A456"
    for sock in (anna, ben, booth):
        await sock.close()


async def test_two_advisors_racing_to_admit_exactly_one_wins(running_hub):
    anna, ben = await running_hub.advisor("anna"), await running_hub.advisor("ben")
    booth = await running_hub.booth()
    await booth.send(WAITING)
    await anna.expect("waiting_added")
    await ben.expect("waiting_added")
    admit = {"type": "admit", "session_id": WAITING["session_id"]}
    await asyncio.gather(anna.send(admit), ben.send(admit))
    results = [await anna.expect("admit_result"), await ben.expect("admit_result")]
    assert sorted(r["ok"] for r in results) == [False, True]
    loser = next(r for r in results if not r["ok"])
    assert loser["reason"] == "taken"
    winner = next(r for r in results if r["ok"])
    admitted = await booth.expect("admitted")
    assert admitted["call_id"] == winner["call_id"]
    assert admitted["ice_servers"] == [{"urls": ["stun:stun.example.org:3478"], "username": None, "credential": None}]
    await anna.expect("waiting_removed", reason="admitted")
    for sock in (anna, ben, booth):
        await sock.close()


async def test_decline_sends_the_message_to_the_booth(running_hub):
    anna = await running_hub.advisor()
    booth = await running_hub.booth()
    await booth.send(WAITING)
    await anna.expect("waiting_added")
    await anna.send({"type": "decline", "session_id": WAITING["session_id"], "message": "Bitte kommen Sie morgen."})
    declined = await booth.expect("declined")
    assert declined["message"] == "Bitte kommen Sie morgen."
    await anna.expect("waiting_removed", reason="declined")
    await anna.close()
    await booth.close()


async def _in_call(running_hub):
    anna = await running_hub.advisor()
    booth = await running_hub.booth()
    await booth.send(WAITING)
    await anna.expect("waiting_added")
    await anna.send({"type": "admit", "session_id": WAITING["session_id"]})
    call_id = (await booth.expect("admitted"))["call_id"]
    await anna.expect("admit_result", ok=True)
    return anna, booth, call_id


async def test_signalling_is_relayed_only_within_the_call(running_hub):
    anna, booth, call_id = await _in_call(running_hub)
    await booth.send({"type": "offer", "call_id": call_id, "sdp": SDP})
    assert (await anna.expect("offer"))["sdp"] == SDP
    await anna.send({"type": "answer", "call_id": call_id, "sdp": SDP})
    await booth.expect("answer", call_id=call_id)
    await anna.send({"type": "candidate", "call_id": call_id, "candidate": "candidate:1 1 udp 1 192.0.2.2 5000 typ host", "sdp_mid": "0"})
    await booth.expect("candidate", call_id=call_id)
    # A call id that is not this side's: refused with an error, nothing relayed.
    await anna.send({"type": "offer", "call_id": "c-somebodyelse", "sdp": SDP})
    assert (await anna.expect("error"))["code"] == "unknown_call"
    await anna.send({"type": "hangup", "call_id": call_id})
    assert (await booth.expect("call_ended"))["reason"] == "ended"
    await anna.close()
    await booth.close()


async def test_booth_dropping_mid_call_rejoins_as_the_same_customer(running_hub):
    anna, booth, call_id = await _in_call(running_hub)
    await booth.close()
    await anna.expect("call_state", call_id=call_id, state="reconnecting")
    booth = await running_hub.booth(call_id=call_id)
    await anna.expect("call_state", call_id=call_id, state="resumed")
    await booth.send({"type": "offer", "call_id": call_id, "sdp": SDP})
    await anna.expect("offer", call_id=call_id)
    await anna.close()
    await booth.close()


async def test_call_not_restored_in_time_ends_for_both(running_hub):
    anna, booth, call_id = await _in_call(running_hub)
    await booth.close()
    await anna.expect("call_state", call_id=call_id, state="reconnecting")
    ended = await anna.expect("call_state", call_id=call_id, state="ended", timeout=10)
    assert ended["reason"] == "timeout"
    # The booth comes back too late: it is told the call is over.
    booth = await running_hub.booth(call_id=call_id)
    assert (await booth.expect("call_ended", call_id=call_id))["reason"] == "timeout"
    await anna.close()
    await booth.close()


async def test_presence_states_are_published(running_hub):
    anna = await running_hub.advisor()
    booth = await running_hub.booth(faults=["camera_missing"])
    assert (await anna.expect("booth_status"))["booth"]["state"] == "fault"
    await booth.send({"type": "status", "faults": []})
    await anna.expect("booth_status", booth={"booth_id": "jc-halle-1", "name": "Halle 1", "location": "Musterstadt", "state": "online", "faults": []})
    await booth.send(WAITING)
    assert (await anna.expect("booth_status"))["booth"]["state"] == "waiting"
    await booth.close()
    assert (await anna.expect("booth_status"))["booth"]["state"] == "offline"
    await anna.close()


async def test_advisor_losing_the_console_gets_the_call_back(running_hub):
    anna, booth, call_id = await _in_call(running_hub)
    await anna.close()  # a reload, a network blip
    anna = await running_hub.advisor("anna")
    back = await anna.expect("admit_result", ok=True)
    assert back["call_id"] == call_id
    await booth.expect("restart_call", call_id=call_id)  # the booth offers a fresh connection
    await booth.send({"type": "offer", "call_id": call_id, "sdp": SDP})
    await anna.expect("offer", call_id=call_id)
    await anna.close()
    await booth.close()


async def test_advisor_who_does_not_come_back_ends_the_call_for_the_booth(running_hub):
    anna, booth, call_id = await _in_call(running_hub)
    await anna.close()
    ended = await booth.expect("call_ended", timeout=10)
    assert ended == {"type": "call_ended", "call_id": call_id, "reason": "timeout"}
    await booth.close()


async def test_details_typed_as_the_advisor_admits_reach_the_call_not_an_error(running_hub):
    """The booth tells the customer their details were sent; if the advisor's admit overtook them
    on the way, they still belong to the call: its row and the advisor's call view, no error."""
    anna = await running_hub.advisor()
    booth = await running_hub.booth()
    await booth.send({**WAITING, "name": "Erika Muster"})
    await anna.expect("waiting_added")
    await anna.send({"type": "admit", "session_id": WAITING["session_id"]})
    call_id = (await anna.expect("admit_result", ok=True))["call_id"]
    first = await anna.expect("call_customer", call_id=call_id)
    assert (first["name"], first["customer_number"]) == ("Erika Muster", None)
    await booth.expect("admitted", call_id=call_id)
    await booth.send({"type": "waiting_update", "session_id": WAITING["session_id"],
                      "name": "Erika Musterfrau", "customer_number": "123A456"})
    late = await anna.expect("call_customer", call_id=call_id)
    assert (late["name"], late["customer_number"]) == ("Erika Musterfrau", "123A456")
    row = running_hub.parts.db["calls"].get(call_id)
    assert (row["name"], row["customer_number"]) == ("Erika Musterfrau", "123A456")
    # Cleared in the field, cleared on the row too, as it would have been in the waiting room.
    await booth.send({"type": "waiting_update", "session_id": WAITING["session_id"], "customer_number": None})
    assert (await anna.expect("call_customer", call_id=call_id))["customer_number"] is None
    assert running_hub.parts.db["calls"].get(call_id)["customer_number"] is None
    # The first error the booth hears is the one for this marker: the late details drew none.
    await booth.send({"type": "call_info", "call_id": "c-notacall0000"})
    assert (await booth.expect("error"))["code"] == "unknown_call"
    for sock in (anna, booth):
        await sock.close()


async def test_another_booth_cannot_name_an_admitted_customer(running_hub):
    anna = await running_hub.advisor()
    booth = await running_hub.booth()
    other = await running_hub.booth(running_hub.parts.registry.create_booth("jc-halle-2", "Halle 2", "Musterstadt"))
    await booth.send({**WAITING, "name": "Erika Muster"})
    await anna.expect("waiting_added")
    await anna.send({"type": "admit", "session_id": WAITING["session_id"]})
    call_id = (await anna.expect("admit_result", ok=True))["call_id"]
    await other.send({"type": "waiting_update", "session_id": WAITING["session_id"], "name": "Mallory"})
    assert (await other.expect("error"))["code"] == "unknown_session"
    assert running_hub.parts.db["calls"].get(call_id)["name"] == "Erika Muster"
    for sock in (anna, booth, other):
        await sock.close()
