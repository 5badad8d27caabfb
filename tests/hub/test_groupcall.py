"""Group calls with a booth (hub/groupcall.py) over real sockets: a customer who typed the
appointment's code at a booth is linked to the appointment's interpreter at home, whichever of the
two the advisor admits first; the hub stamps who offers (role, never a name); a walk-in and another
appointment's participant are never linked; ending the booth's call ends its links."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hub.app import HubParts, make_app
from hub.appointments import BERLIN, AppointmentBook, AppointmentDraft
from hub.groupcall import CALLS, PEERS, GroupCalls
from hub.sockets import APP_HUB
from videokiosk.clock import FakeClock

from .conftest import PASSWORD, RunningHub, Socket

SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"


@pytest.fixture
async def hub(hub_config):
    parts = HubParts.open(hub_config, clock=FakeClock())
    parts.users.add_user("anna", PASSWORD)
    token = parts.registry.create_booth("jc-halle-1", "Halle 1", "Musterstadt")
    app = make_app(parts)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        running = RunningHub(str(server.make_url("")).rstrip("/"), parts, token, http)
        running.groups = next(x for x in app[APP_HUB].listeners if isinstance(x, GroupCalls))
        yield running
    await server.close()


def book(parts, *roles: str):
    """An appointment starting now (inside its window) with ``roles`` as further participants."""
    start = parts.clock.now().astimezone(BERLIN) + timedelta(minutes=5)
    draft = AppointmentDraft(starts_local=start.replace(tzinfo=None), language="de", customer_email="k@example.org",
                             name="Erika Mustermann", participants=[{"role": r, "email": f"{r}@example.org"} for r in roles])
    return AppointmentBook(parts.db, parts.clock).create(draft, "anna")[1]


async def guest(hub, token: str, session_id: str) -> Socket:
    """A participant at home: the personal link's cookie, then the booth protocol on /ws/guest."""
    s = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    assert (await s.post(f"{hub.url}/api/join", json={"token": token})).status == 200
    # The consent before anything else, as the page does.
    assert (await s.post(f"{hub.url}/api/join/consent", json={"session_id": session_id, "language": "de"})).status == 200
    sock = Socket(await s.ws_connect(f"{hub.url}/ws/guest"), s)
    await sock.send({"type": "hello"})
    await sock.expect("welcome")
    await sock.send({"type": "waiting", "session_id": session_id, "language": "de", "kind": "appointment"})
    return sock


async def booth_with_code(hub, code: str | None, session_id: str) -> Socket:
    booth = await hub.booth()
    if code is not None:
        await booth.send({"type": "appointment_check", "code": code})
        assert (await booth.expect("appointment_result"))["ok"] is True
    await booth.send({"type": "waiting", "session_id": session_id, "language": "de",
                      "kind": "appointment" if code else "walk_in"})
    return booth


async def admit(advisor: Socket, end: Socket, session_id: str) -> str:
    await advisor.expect("waiting_added", timeout=5)
    await advisor.send({"type": "admit", "session_id": session_id})
    return (await end.expect("admitted", session_id=session_id, role=None))["call_id"]


async def settled(hub) -> None:
    await asyncio.gather(*list(hub.groups._tasks))


async def table(hub, name: str) -> dict:
    """A group-call table of the hub's shared state (hub/groupcall.py), its values decoded."""
    return {key: json.loads(raw) for key, raw in (await hub.parts.state.records(name)).items()}


@pytest.mark.parametrize("booth_first", [True, False], ids=["interpreter-joins-booth", "booth-joins-interpreter"])
async def test_booth_customer_and_interpreter_are_linked_and_the_hub_stamps_the_role(hub, booth_first):
    customer, interpreter = book(hub.parts, "interpreter")
    anna = await hub.advisor()
    first = (lambda: booth_with_code(hub, customer.code, "s-booth001")) if booth_first else \
        (lambda: guest(hub, interpreter.token, "s-home0001"))
    second = (lambda: guest(hub, interpreter.token, "s-home0001")) if booth_first else \
        (lambda: booth_with_code(hub, customer.code, "s-booth001"))
    a = await first()
    await admit(anna, a, "s-booth001" if booth_first else "s-home0001")
    b = await second()
    call_b = await admit(anna, b, "s-home0001" if booth_first else "s-booth001")
    # The newcomer offers on the link, told whom to: the earlier one's role
    link = await b.expect("admitted", role="customer" if booth_first else "interpreter")
    peer_id = link["call_id"]
    assert peer_id != call_b and "name" not in link
    await b.send({"type": "offer", "call_id": peer_id, "sdp": SDP, "role": "legal_representative"})  # a lie
    offer = await a.expect("offer", call_id=peer_id)
    assert offer["role"] == ("interpreter" if booth_first else "customer")  # the hub says who offers
    await a.send({"type": "answer", "call_id": peer_id, "sdp": SDP})
    await b.expect("answer", call_id=peer_id)
    await a.send({"type": "candidate", "call_id": peer_id, "candidate": "", "sdp_mid": "0", "sdp_mline_index": 0})
    await b.expect("candidate", call_id=peer_id)

    # The booth's call with the advisor ends: so does its link; the other call goes on
    booth = a if booth_first else b
    booth_call = next(cid for cid, party in (await table(hub, CALLS)).items() if party["route"]["booth_id"] == "jc-halle-1")
    await booth.send({"type": "hangup", "call_id": booth_call, "reason": "ended"})
    other = b if booth_first else a
    await other.expect("call_ended", call_id=peer_id)
    await settled(hub)
    assert await table(hub, PEERS) == {} and len(await table(hub, CALLS)) == 1
    for sock in (anna, a, b):
        await sock.close()


async def test_a_walk_in_and_another_appointment_are_never_linked(hub):
    customer, interpreter = book(hub.parts, "interpreter")
    _, stranger = book(hub.parts, "interpreter")
    anna = await hub.advisor()
    # The code was accepted, but the customer walked in without it: no appointment, no links
    booth = await hub.booth()
    await booth.send({"type": "appointment_check", "code": customer.code})
    assert (await booth.expect("appointment_result"))["ok"] is True
    await booth.send({"type": "waiting", "session_id": "s-booth001", "language": "de", "kind": "walk_in"})
    await admit(anna, booth, "s-booth001")
    home = await guest(hub, interpreter.token, "s-home0001")
    await admit(anna, home, "s-home0001")
    other = await guest(hub, stranger.token, "s-home0002")
    await admit(anna, other, "s-home0002")
    await settled(hub)
    assert await table(hub, PEERS) == {}
    # A booth cannot write into links it is not part of
    await booth.send({"type": "offer", "call_id": "c-notalink0000", "sdp": SDP})
    assert (await booth.expect("error", ref="offer"))["code"] == "unknown_call"
    for sock in (anna, booth, home, other):
        await sock.close()


async def test_no_peer_link_without_the_recorded_prior_agreement(hub):
    """The booking records the customer's agreement to each further participant (which role, by
    which advisor, when); a participant row without it (one from before, or tampered) is never linked."""
    customer, interpreter = book(hub.parts, "interpreter")
    [row] = hub.parts.db["appointment_participants"].rows_where("role = 'interpreter'")
    assert row["agreed_by"] == "anna" and row["agreed_at"]
    [mine] = hub.parts.db["appointment_participants"].rows_where("role = 'customer'")
    assert mine["agreed_by"] is None and mine["agreed_at"] is None  # the customer agrees by consenting
    hub.parts.db["appointment_participants"].update(row["participant_id"], {"agreed_by": None, "agreed_at": None})
    anna = await hub.advisor()
    booth = await booth_with_code(hub, customer.code, "s-booth001")
    await admit(anna, booth, "s-booth001")
    home = await guest(hub, interpreter.token, "s-home0001")
    await admit(anna, home, "s-home0001")
    await settled(hub)
    assert await table(hub, PEERS) == {}
    for sock in (anna, booth, home):
        await sock.close()
