"""The booth's peer links (appliance/peerlink.py) against a real aiortc peer standing in for an
interpreter at home: whoever offers, pictures and voices flow both ways, the interpreter's voice
reaches the speaker mix and their picture the kiosk's tile; outside a call nothing is built; when
the hub ends the link everything of it goes, and the booth's own call is not touched."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from appliance.peerlink import PeerLinks
from hw.audio_fake import CountingSpeaker, ToneMicrophone
from hw.synthetic import SyntheticCamera, looks_like_test_pattern
from hw.tone import ToneTrack
from rtc import protocol as p
from rtc.audiomix import MixingSpeaker
from rtc.loopback import Loopback

CALL = "c-advisorcall01"
LINK = "c-peerlink00001"


class HubLink:
    """The booth's hub link as PeerLinks sees it: the call under way, what was sent."""

    def __init__(self) -> None:
        self.call_id: str | None = CALL
        self.ice_servers: list[p.IceServer] = []
        self.sent: asyncio.Queue[p.Message] = asyncio.Queue()

    async def send(self, msg: p.Message) -> None:
        await self.sent.put(msg)

    async def next(self, kind: type[p.Message]) -> p.Message:
        while not isinstance(msg := await asyncio.wait_for(self.sent.get(), 20), kind):
            pass
        return msg


class Interpreter:
    """The participant at home: a real peer connection with a camera and a 1 kHz voice."""

    def __init__(self, camera: SyntheticCamera) -> None:
        self.pc = RTCPeerConnection()
        self.pc.addTrack(ToneTrack(1000, -20))  # audio first, as a browser offers it
        self.pc.addTrack(camera.video_track())
        self.video: asyncio.Future = asyncio.get_running_loop().create_future()
        self.pc.on("track", lambda track: track.kind == "video" and not self.video.done() and self.video.set_result(track))

    async def booth_pattern(self) -> bool:
        track = await asyncio.wait_for(self.video, 20)
        for _ in range(50):
            if looks_like_test_pattern(await asyncio.wait_for(track.recv(), 20)):
                return True
        return False


@pytest.fixture
async def booth():
    camera, interpreter_camera = SyntheticCamera(width=160, height=120, fps=10), SyntheticCamera(width=160, height=120, fps=10)
    speaker = MixingSpeaker(CountingSpeaker())
    loopback = Loopback(camera.video_track)
    state = {"in_call": True, "joined": []}
    link = HubLink()
    links = PeerLinks(link, camera, ToneMicrophone(), speaker, loopback, in_call=lambda: state["in_call"],
                      joined=state["joined"].append)
    yield links, link, state, speaker, loopback, interpreter_camera
    await links.close_all()
    await loopback.close()
    for cam in (camera, interpreter_camera):
        await cam.close()


async def flows_both_ways(links: PeerLinks, speaker: MixingSpeaker, loopback: Loopback, interpreter: Interpreter) -> None:
    assert await interpreter.booth_pattern()  # the interpreter sees the booth's camera
    peer = links.links[LINK]
    await asyncio.wait_for(peer.first_frame.wait(), 20)
    assert looks_like_test_pattern(peer.last_remote_frame) and peer.role == "interpreter"
    assert loopback._videos["peer0"] is not None  # the kiosk's first tile shows them
    await asyncio.wait_for(speaker.speaker.wait_played(48_000 // 2), 20)
    assert len(speaker.mixer.inputs) == 1  # their voice is in the speaker's mix


async def test_the_booth_answers_an_interpreter_who_offers(booth):
    links, link, _, speaker, loopback, camera = booth
    interpreter = Interpreter(camera)
    await interpreter.pc.setLocalDescription(await interpreter.pc.createOffer())
    assert await links.route(p.Offer(call_id=LINK, sdp=interpreter.pc.localDescription.sdp, role="interpreter"))
    answer = await link.next(p.Answer)
    await interpreter.pc.setRemoteDescription(RTCSessionDescription(sdp=answer.sdp, type="answer"))
    await flows_both_ways(links, speaker, loopback, interpreter)
    assert links.peers_message() == {"type": "peers", "peers": [{"slot": 0, "role": "interpreter"}]}

    # The interpreter leaves: the hub ends the link; tile, voice and connection go
    links.changed.clear()
    assert await links.route(p.CallEnded(call_id=LINK))
    await asyncio.wait_for(links.changed.wait(), 10)
    assert links.links == {} and loopback._videos["peer0"] is None and speaker.mixer.inputs == []
    assert not await links.route(p.CallEnded(call_id=CALL))  # the booth's own call is not the links'
    await interpreter.pc.close()


async def test_the_booth_offers_when_it_joins_later(booth):
    links, link, state, speaker, loopback, camera = booth
    interpreter = Interpreter(camera)
    assert await links.route(p.Admitted(session_id="s-booth0001", call_id=LINK, role="interpreter"))
    offer = await link.next(p.Offer)
    await interpreter.pc.setRemoteDescription(RTCSessionDescription(sdp=offer.sdp, type="offer"))
    await interpreter.pc.setLocalDescription(await interpreter.pc.createAnswer())
    assert await links.route(p.Answer(call_id=LINK, sdp=interpreter.pc.localDescription.sdp))
    await flows_both_ways(links, speaker, loopback, interpreter)
    assert state["joined"] == ["interpreter"]  # stored by the daemon with the customer's session
    await interpreter.pc.close()


async def test_nothing_is_built_outside_a_call(booth):
    links, link, state, *_ = booth
    assert not await links.route(p.Admitted(session_id="s-booth0001", call_id=CALL))  # the call's own admit
    state["in_call"] = False  # the customer is already on the survey screen
    assert await links.route(p.Admitted(session_id="s-booth0001", call_id=LINK, role="interpreter"))
    assert (await link.next(p.Hangup)).call_id == LINK and links.links == {}
    assert state["joined"] == []  # refused: nobody joined, nothing to store
    link.call_id = None  # waiting room: no call, so no link, whatever comes
    assert not await links.route(p.Offer(call_id=LINK, sdp="v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"))
