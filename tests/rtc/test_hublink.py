"""The booth's hub link against real sockets: TLS verified against the enrolment CA, bad messages
from the hub dropped without harm, and the start-bitrate SDP edit."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl

import aiohttp
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from appliance.hublink import HubConnection, MemoryWithdrawals
from hub.app import HubParts, make_app, tls_context
from hub.config import HubConfig
from rtc.protocol import Heartbeat, Survey
from rtc.sdp import with_start_bitrate
from tests.support import certificate, watched_store, write_pem


def _cert(subject: str, issuer_key, issuer_cert, key, *, ca: bool):
    issuer = None if issuer_cert is None else (issuer_key, issuer_cert)
    return certificate(subject, key, issuer=issuer, ca=ca, ip=None if ca else "127.0.0.1", days=1)


def make_ca(tmp_path, name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert(name, key, None, key, ca=True)
    path, _ = write_pem(tmp_path, name, cert)
    return key, cert, path


class FakeHub:
    """A hub that says what the test wants, to see how the booth takes it."""

    def __init__(self, script: list[str], replies: dict[str, str] | None = None) -> None:
        self.script = script
        self.replies = replies or {}  # by the type of the message it answers: the text, or a function of it
        self.received: list[dict] = []
        self.arrived = asyncio.Condition()

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.received.append(json.loads((await ws.receive()).data))  # hello
        for raw in self.script:
            await ws.send_str(raw)
        async for frame in ws:
            msg = json.loads(frame.data)
            async with self.arrived:
                self.received.append(msg)
                self.arrived.notify_all()
            reply = self.replies.get(msg["type"])
            reply = reply(msg) if callable(reply) else reply  # a callable answers each one (None: nothing)
            if reply is not None:
                await ws.send_str(reply)
        return ws

    async def count(self, type_: str, at_least: int) -> list[dict]:
        """Once ``at_least`` messages of ``type_`` have arrived: all of them."""
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(
                lambda: sum(m["type"] == type_ for m in self.received) >= at_least), 10)
        return [m for m in self.received if m["type"] == type_]

    async def first(self, type_: str) -> dict:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: any(m["type"] == type_ for m in self.received)), 10)
        return next(m for m in self.received if m["type"] == type_)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ws/booth", self.socket)
        return app


async def serve(app: web.Application, ssl_context=None) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    return runner, runner.addresses[0][1]


async def test_bad_messages_from_the_hub_are_dropped_and_the_link_carries_on():
    welcome = json.dumps({"type": "welcome", "booth_id": "booth-1"})
    hub = FakeHub([
        "{not json",
        json.dumps({"type": "admit", "session_id": "s-0001abcd"}),  # not for booths
        json.dumps({"type": "queue_update", "session_id": "s-0001abcd", "position": 0, "estimated_wait_s": 1}),
        json.dumps({"type": "declined", "session_id": "s-0001abcd", "message": "x" * 70_000}),
        welcome,
        json.dumps({"type": "advisor_informed", "session_id": "s-0001abcd"}),
    ])
    runner, port = await serve(hub.app())
    events: list[tuple[str, dict]] = []
    informed = asyncio.Event()

    async def handle(event, **data):
        events.append((event, data))
        informed.set()
        return True

    link = HubConnection(f"http://127.0.0.1:{port}", "token")
    link.attach(handle)
    changes: list[bool] = []
    link.when_changed = changes.append
    await link.start()
    try:
        await asyncio.wait_for(informed.wait(), 10)
        assert events == [("advisor_informed", {})]
        assert link.connected.is_set() and changes == [True]
        assert await link.send(Heartbeat())
    finally:
        await link.close()
        await runner.cleanup()


async def test_details_typed_as_the_advisor_admits_still_go_to_the_hub():
    """The kiosk confirmed them when the session took them; the admit may reach the link before
    the errand that sends them (it drops the waiting ticket), and they must go all the same."""
    session = "s-0001abcd"
    hub = FakeHub([json.dumps({"type": "welcome", "booth_id": "booth-1"})],
                  {"waiting": json.dumps({"type": "admitted", "session_id": session, "call_id": "c-0001abcd"})})
    runner, port = await serve(hub.app())
    admitted = asyncio.Event()

    async def handle(event, **data):
        if event == "admitted":
            admitted.set()
        return True

    link = HubConnection(f"http://127.0.0.1:{port}", "token")
    link.attach(handle)
    await link.start()
    try:
        await asyncio.wait_for(link.connected.wait(), 10)
        await link.enter_waiting({"session_id": session, "language": "de"})
        await asyncio.wait_for(admitted.wait(), 10)
        await link.update_waiting({"name": "Erika Muster", "customer_number": ""})
        update = await hub.first("waiting_update")
        assert update == {"type": "waiting_update", "session_id": session, "name": "Erika Muster", "customer_number": None}
    finally:
        await link.close()
        await runner.cleanup()


@pytest.fixture
def tls_hub(tmp_path):
    ca_key, ca_cert, ca_path = make_ca(tmp_path, "videokiosk-test-ca")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert("hub", ca_key, ca_cert, key, ca=False)
    (tmp_path / "hub.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "hub.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp_path / "hub.pem", tmp_path / "hub.key")
    return ctx, ca_path


async def test_booth_trusts_the_enrolment_ca_and_nothing_else(tls_hub, tmp_path):
    _, ca_path = tls_hub
    # The real hub, serving HTTPS/WSS itself from the configured certificate and key.
    config = HubConfig.model_validate({"server": {"tls_cert": str(tmp_path / "hub.pem"), "tls_key": str(tmp_path / "hub.key")},
                                       "store": {"path": str(tmp_path / "hub.db")}})
    parts = HubParts.open(config)
    token = parts.registry.create_booth("booth-1", "Kiosk 1", "Musterstadt")
    runner, port = await serve(make_app(parts), tls_context(config))
    url = f"https://127.0.0.1:{port}"
    try:
        good = HubConnection(url, token, ca_file=ca_path)
        await good.start()
        await asyncio.wait_for(good.connected.wait(), 10)
        await good.close()

        _, _, other_ca = make_ca(tmp_path, "someone-else")
        bad = HubConnection(url, token, ca_file=other_ca)
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await bad._connect_once(http)
    finally:
        await runner.cleanup()


def test_start_bitrate_goes_on_every_video_codec_but_not_rtx():
    sdp = ("m=video 9 UDP/TLS/RTP/SAVPF 97 98 99\r\na=rtpmap:97 VP8/90000\r\na=rtpmap:98 rtx/90000\r\n"
           "a=fmtp:98 apt=97\r\na=rtpmap:99 H264/90000\r\na=fmtp:99 packetization-mode=1\r\n")
    lines = with_start_bitrate(sdp, 1500).split("\r\n")
    assert "a=fmtp:97 x-google-start-bitrate=1500" in lines
    assert "a=fmtp:98 apt=97" in lines
    assert "a=fmtp:99 packetization-mode=1;x-google-start-bitrate=1500" in lines


async def test_a_withdrawal_made_while_the_hub_was_away_reaches_it_after_a_restart(tmp_path):
    """The customer withdrew in the call while the booth had lost its hub (the network), and then
    the booth restarted (a power cut, a watchdog). The withdrawal waits on the booth's disk, not in
    the old process's memory: the restarted booth delivers it, and the hub deletes the call's rows."""
    from appliance.store import BoothStore
    from tests.hub.conftest import PASSWORD

    session = "s-0001abcd"
    parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(tmp_path / "hub.db")}}))
    parts.users.add_user("anna", PASSWORD)
    token = parts.registry.create_booth("jc-halle-1", "Halle 1", "Musterstadt")
    runner, port = await serve(make_app(parts))
    url = f"http://127.0.0.1:{port}"
    admitted = asyncio.Event()

    async def handle(event, **data):
        if event == "admitted":
            admitted.set()
        return True

    store = BoothStore(tmp_path / "booth.db")
    link = HubConnection(url, token, withdrawals=store)
    link.attach(handle)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as anna:
        login = await anna.post(f"{url}/api/login", json={"username": "anna", "password": PASSWORD})
        console = await anna.ws_connect(f"{url}/ws/advisor?csrf={(await login.json())['csrf']}")
        try:
            await link.start()
            await asyncio.wait_for(link.connected.wait(), 10)
            await link.enter_waiting({"session_id": session, "language": "de", "name": "Erika Mustermann"})
            while (await console.receive_json(timeout=5))["type"] != "waiting_added":
                pass
            await console.send_json({"type": "admit", "session_id": session})
            await asyncio.wait_for(admitted.wait(), 10)
            assert parts.db["calls"].count == 1
            await link.close()  # the booth's network is gone ...
            store.withdraw(session)  # ... as the customer withdraws (appliance/session.py: the store first)
            await link.leave_waiting("withdraw")
            store.close()  # ... and the booth restarts
            store = watched_store(tmp_path / "booth.db")
            link = HubConnection(url, token, withdrawals=store)
            link.attach(handle)
            await link.start()
            await asyncio.wait_for(store.confirmed.wait(), 10)  # the hub confirms once the rows are gone
            assert parts.db["calls"].count == 0 and parts.db["call_sessions"].count == 0
            assert store.pending_withdrawals() == []  # not sent again at the next start
        finally:
            await console.close()  # before the hub stops: an open socket holds its shutdown up
            await link.close()
            store.close()
            await runner.cleanup()


class RecordedWithdrawals(MemoryWithdrawals):
    """The in-memory outbox, with an event for each withdrawal the hub confirmed."""

    def __init__(self) -> None:
        super().__init__()
        self.confirmed = asyncio.Event()

    def withdrawal_delivered(self, session_id: str) -> None:
        super().withdrawal_delivered(session_id)
        self.confirmed.set()


async def test_a_withdrawal_goes_again_at_every_heartbeat_until_the_hub_confirms_it():
    """A hub whose database could not take it (tests/faults/test_database_away.py) answers
    ``unavailable``, not ``withdrawn``: the booth sends it again, and stops once it is confirmed."""
    session = "s-0001abcd"
    withdrawals = [0]

    def confirm_the_second(_msg: dict) -> str:
        withdrawals[0] += 1
        if withdrawals[0] == 1:
            return json.dumps({"type": "error", "code": "unavailable", "message": "the hub's database ..."})
        return json.dumps({"type": "withdrawn", "session_id": session})

    hub = FakeHub([json.dumps({"type": "welcome", "booth_id": "booth-1", "heartbeat_s": 0.2})],
                  {"leave_waiting": confirm_the_second})
    runner, port = await serve(hub.app())
    outbox = RecordedWithdrawals()
    outbox.add_withdrawal(session)  # made while the link was down (or before a restart, on disk)
    link = HubConnection(f"http://127.0.0.1:{port}", "token", withdrawals=outbox)
    link.heartbeat_s = 0.2  # the first beat's wait starts before the welcome says so
    await link.start()
    try:
        await asyncio.wait_for(outbox.confirmed.wait(), 10)
        assert outbox.pending_withdrawals() == []
        beats = len(await hub.count("heartbeat", 1))
        await hub.count("heartbeat", beats + 2)  # two more beats: nothing is sent again
        sent = [m for m in hub.received if m["type"] == "leave_waiting"]
        assert sent == [{"type": "leave_waiting", "session_id": session, "reason": "withdraw"}] * 2
    finally:
        await link.close()
        await runner.cleanup()


async def test_a_survey_the_hub_link_could_not_send_leaves_no_log_line(caplog):
    """The survey's moment and whether it was answered go in no log line (videokiosk/surveypool.py):
    "hub link down: survey not sent" right after the session's "call --> survey" line said both."""
    link = HubConnection("http://127.0.0.1:9", "token")  # never started: the link is down
    caplog.set_level(logging.DEBUG)
    assert not await link.send(Survey(rating=2, easy=False, again=True))
    assert not [r for r in caplog.records if "survey" in r.getMessage().lower()]
    assert await link.send(Heartbeat()) is False
    assert "heartbeat not sent" in caplog.text  # other messages still say why they did not go
