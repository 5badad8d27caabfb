"""The booth's call controls: the mute toggle (session -> BoothCall -> silence at the advisor), the
hub link shown on the booth, and H.264 passthrough negotiated in the real BoothCall.

The advisor here is a real aiortc peer that answers the BoothCall's offer; the "hub" is a
stand-in that hands the offer over and the answer back (the e2e tests run the real hub).
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from appliance.call import BoothCall
from appliance.errors import InvalidMessage
from appliance.hublink_base import NullCallHandler
from appliance.session import Session
from appliance.uiprotocol import parse_message
from hw.audio_fake import CountingSpeaker, ToneMicrophone
from hw.encoded import PrerecordedH264Camera
from hw.synthetic import SyntheticCamera, looks_like_test_pattern
from rtc import protocol as p

CALL_ID = "c-1234abcd"


# --- the session ---------------------------------------------------------------------------------

async def in_call(session: Session) -> None:
    session._check_results = {}  # the journey up to the call is tested elsewhere
    await session.handle("start")
    await session.handle("accept")
    for name in ("camera", "microphone", "speaker", "upload", "download"):
        await session.handle("check_result", name=name, result={"status": "pass"})
    assert await session.handle("continue")
    assert await session.handle("admitted", call_id=CALL_ID)


async def test_mute_is_a_call_control_that_reaches_the_call_handler():
    calls = NullCallHandler()
    session = Session(calls=calls)
    assert not await session.handle("set_muted", muted=True)  # nothing to mute before the call
    await in_call(session)
    assert session.snapshot()["call"] == {"call_id": CALL_ID, "muted": False}
    assert await session.handle("set_muted", muted=True)
    assert session.snapshot()["call"]["muted"] is True and calls.muted is True
    assert session.state == "call"
    assert not await session.handle("set_muted", muted="yes")  # refused, nothing changes
    assert calls.muted is True
    assert await session.handle("set_muted", muted=False)
    assert session.snapshot()["call"]["muted"] is False and calls.muted is False
    await session.close()


def test_the_page_may_send_set_muted_with_a_bool_only():
    assert parse_message('{"type": "intent", "event": "set_muted", "data": {"muted": true}}') == (
        "intent", "set_muted", {"muted": True})
    with pytest.raises(InvalidMessage):
        parse_message('{"type": "intent", "event": "set_muted", "data": {"muted": 1}}')
    with pytest.raises(InvalidMessage):
        parse_message('{"type": "intent", "event": "hub_link", "data": {"up": false}}')  # the hub link's only


async def test_hub_link_changes_show_in_every_state_without_moving():
    session = Session()
    assert session.snapshot()["hub_connected"] is None  # no hub link: nothing to show
    assert await session.handle("hub_link", up=False)
    assert session.snapshot()["hub_connected"] is False and session.state == "idle"
    await in_call(session)
    sid = session.session_id
    assert await session.handle("hub_link", up=True)
    assert await session.handle("hub_link", up=False)
    snap = session.snapshot()
    assert snap["state"] == "call" and snap["hub_connected"] is False and session.session_id == sid
    await session.close()


# --- a real BoothCall against an aiortc advisor ---------------------------------------------------

class FakeHub:
    """Just enough of HubConnection for BoothCall: it hands the offer to the test."""

    def __init__(self) -> None:
        self.ice_servers: list = []
        self.connected = asyncio.Event()
        self.connected.set()
        self.offer: asyncio.Future = asyncio.get_running_loop().create_future()
        self.offers: asyncio.Queue[tuple[float, str]] = asyncio.Queue()  # every offer, with its loop time
        self.listener = None

    def on_call_message(self, listener) -> None:
        self.listener = listener

    async def send(self, message) -> bool:
        if isinstance(message, p.Offer):
            self.offers.put_nowait((asyncio.get_running_loop().time(), message.sdp))
            if not self.offer.done():
                self.offer.set_result(message.sdp)
        return True


async def connect(camera) -> tuple[BoothCall, RTCPeerConnection, dict[str, asyncio.Future], CountingSpeaker]:
    """Start a BoothCall and answer it from an aiortc advisor; returns the advisor's tracks."""
    hub, speaker = FakeHub(), CountingSpeaker()
    call = BoothCall(hub, camera, ToneMicrophone(level_dbfs=-20.0), speaker)
    advisor = RTCPeerConnection()
    loop = asyncio.get_running_loop()
    tracks = {"audio": loop.create_future(), "video": loop.create_future()}
    advisor.on("track", lambda t: tracks[t.kind].done() or tracks[t.kind].set_result(t))
    await call.start(CALL_ID)
    offer = await asyncio.wait_for(hub.offer, 10)
    await advisor.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    await advisor.setLocalDescription(await advisor.createAnswer())
    await hub.listener(p.Answer(call_id=CALL_ID, sdp=advisor.localDescription.sdp))
    return call, advisor, tracks, speaker


async def level_becomes(track, loud: bool, frames: int = 500) -> None:
    """Read the advisor's decoded audio until it is loud (or silent), at most ``frames`` frames."""
    for _ in range(frames):
        rms = float(np.sqrt(np.mean(np.square((await track.recv()).to_ndarray().astype(np.float64)))))
        if (rms > 100) == loud:  # the tone at -20 dBFS is ~3000; Opus silence is ~0
            return
    raise AssertionError(f"the advisor never heard the booth {'loud' if loud else 'silent'}")


async def test_muting_sends_silence_to_the_advisor_and_the_next_call_starts_unmuted():
    camera = SyntheticCamera(width=160, height=120, fps=10)
    call, advisor, tracks, _ = await connect(camera)
    try:
        assert {"VP8", "H264"} <= video_codecs(call._pc.localDescription.sdp)  # no passthrough: unchanged
        audio = await asyncio.wait_for(tracks["audio"], 20)
        await asyncio.wait_for(level_becomes(audio, loud=True), 20)
        call.set_muted(True)
        await asyncio.wait_for(level_becomes(audio, loud=False), 20)
        call.set_muted(False)
        await asyncio.wait_for(level_becomes(audio, loud=True), 20)
        call.set_muted(True)
        await call.stop()
        call.call_id = None
        await call.start("c-5678efgh")
        assert call.muted is False
    finally:
        await call.stop()
        await advisor.close()
        await camera.close()


def video_codecs(sdp: str) -> set[str]:
    """The codec names of the video section, retransmission aside."""
    video = sdp.split("m=video", 1)[1].split("m=", 1)[0]
    names = {line.split(" ", 1)[1].split("/")[0] for line in video.splitlines() if line.startswith("a=rtpmap:")}
    return names - {"rtx"}


async def test_a_passthrough_camera_makes_the_call_negotiate_its_codec():
    camera = PrerecordedH264Camera(width=320, height=240, fps=15)
    call, advisor, tracks, _ = await connect(camera)
    try:
        video = next(t for t in call._pc.getTransceivers() if t.kind == "video")
        assert video_codecs(call._pc.localDescription.sdp) == {"H264"}  # offered alone
        assert video_codecs(advisor.localDescription.sdp) == {"H264"}  # and answered
        remote = await asyncio.wait_for(tracks["video"], 20)

        async def pattern():
            while not looks_like_test_pattern(await remote.recv()):
                pass

        await asyncio.wait_for(pattern(), 30)
        encoder = video.sender._RTCRtpSender__encoder
        assert type(encoder).__name__ == "H264Encoder" and encoder.codec is None  # packed, not re-encoded
    finally:
        await call.stop()
        await advisor.close()
        await camera.close()
