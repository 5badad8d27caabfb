"""The daemon -> kiosk page video path, with two real aiortc peers on this machine."""

from __future__ import annotations

import asyncio
import re

import aioice.ice
import pytest
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.rtcicetransport import RTCIceGatherer

from hw.synthetic import SyntheticCamera
from rtc.errors import CallError
from rtc.loopback import Loopback


class Page:
    """Stands in for the kiosk page's side: two receive-only video transceivers, nothing sent."""

    def __init__(self, videos: int = 2) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # on this machine, as the kiosk's
        for _ in range(videos):
            self.pc.addTransceiver("video", direction="recvonly")
        loop = asyncio.get_running_loop()
        self.tracks: dict[str, asyncio.Future] = {str(mid): loop.create_future() for mid in range(videos)}

        @self.pc.on("track")
        def on_track(track):
            mid = next(t.mid for t in self.pc.getTransceivers() if t.receiver.track is track)
            self.tracks[mid].set_result(track)

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def frame(self, mid: str):
        track = await asyncio.wait_for(self.tracks[mid], 10)
        return await asyncio.wait_for(track.recv(), 15)


@pytest.fixture
async def camera():
    cam = SyntheticCamera(width=160, height=120, fps=10)
    yield cam
    await cam.close()


async def test_self_view_flows_and_the_remote_track_can_be_set_later(camera):
    loopback = Loopback(camera.video_track)
    page = Page()
    try:
        answer = await loopback.answer(await page.offer())
        assert answer.count("a=sendonly") == 2 and "a=recvonly" not in answer
        await page.accept(answer)
        frame = await page.frame("0")
        assert (frame.width, frame.height) == (160, 120)
        advisor = VideoStreamTrack()  # stands in for the advisor's incoming video
        loopback.set_remote_video(advisor)
        frame = await page.frame("1")
        assert frame.width > 0
        # In the call the self-view is a small tile: half the camera's size is sent for it.
        for _ in range(20):
            if (frame := await page.frame("0")).width == 80:
                break
        assert (frame.width, frame.height) == (80, 60)
        assert loopback.active
    finally:
        await loopback.close()
        await page.pc.close()
    assert not loopback.active


async def test_a_new_offer_replaces_the_old_connection(camera):
    loopback = Loopback(camera.video_track)
    first, second = Page(), Page()
    try:
        await first.accept(await loopback.answer(await first.offer()))
        await second.accept(await loopback.answer(await second.offer()))
        assert (await second.frame("0")).width == 160
    finally:
        await loopback.close()
        await first.pc.close()
        await second.pc.close()


async def test_a_broken_offer_is_a_clear_error(camera):
    loopback = Loopback(camera.video_track)
    with pytest.raises(CallError, match="offer"):
        await loopback.answer("v=0\r\nnonsense\r\n")
    assert not loopback.active


class _AheadTrack(VideoStreamTrack):
    """An advisor track ten seconds into its RTP clock, like a call that started at another offset."""

    async def recv(self):
        frame = await super().recv()
        frame.pts += 900_000
        return frame


async def test_the_page_keeps_getting_video_when_a_new_track_starts_its_clock_again(camera):
    # Field incident: the second call's remote track started at a lower RTP timestamp, the kept VP8
    # encoder refused it ("avcodec_send_frame() Invalid data") and the kiosk picture froze.
    loopback = Loopback(camera.video_track)
    page = Page()
    try:
        await page.accept(await loopback.answer(await page.offer()))
        loopback.set_remote_video(_AheadTrack())
        await page.frame("1")
        loopback.set_remote_video(VideoStreamTrack())  # timestamps from 0 again
        for _ in range(5):
            await page.frame("1")
    finally:
        await loopback.close()
        await page.pc.close()


async def test_a_group_call_shows_further_participants_in_their_own_tiles(camera):
    """The page's fourth and fifth transceivers: an interpreter and a legal representative."""
    loopback = Loopback(camera.video_track)
    answered = []
    loopback.when_answered = lambda: answered.append(True)  # the peer links tell a reloaded page again
    page = Page(videos=5)
    try:
        loopback.set_peer_video(1, VideoStreamTrack())  # before the page is there: kept for it
        answer = await loopback.answer(await page.offer())
        assert answer.count("a=sendonly") == 5 and answered == [True]
        await page.accept(answer)
        assert (await page.frame("4")).width > 0
        with pytest.raises(CallError, match="2 further participants at most"):
            loopback.set_peer_video(2, VideoStreamTrack())
    finally:
        await loopback.close()
        await page.pc.close()


async def test_the_pages_video_asks_no_server_beyond_this_machine(camera, monkeypatch):
    """The page is on the booth itself. aiortc, given no server list, asks Google's public STUN
    server: a booth in a public office would tell a third party of every customer's check and call."""
    asked = []
    monkeypatch.setattr(RTCIceGatherer, "getDefaultIceServers", classmethod(lambda cls: asked.append(cls) or []))
    loopback = Loopback(camera.video_track)
    page = Page()
    try:
        await page.accept(await loopback.answer(await page.offer()))
        assert (await page.frame("0")).width == 160
    finally:
        await loopback.close()
        await page.pc.close()
    assert asked == [], "the loopback's peer connection fell back to aiortc's public STUN server"


class _NobodyAnswers:
    """The multicast DNS of a machine where no one answers for the page's names."""

    async def resolve(self, hostname: str, timeout: float | None = 1.0) -> str | None:
        await asyncio.Event().wait()  # aioice gives up after its timeout; here, never
        return None


async def test_a_page_that_names_its_addresses_by_mdns_is_answered_at_once(camera, monkeypatch):
    """A page without camera permission (the kiosk page) names its candidates "<uuid>.local".
    aiortc resolved each before answering, a second each time nobody answered for it (aioice's
    timeout), while the page's later messages (a withdrawal) waited. The picture still comes: the
    page's checks reach the booth's own candidates (this page, as Firefox does, also says it has
    no more candidates: that must not make the booth give up before the checks arrive)."""
    async def nobody(subscriber):
        return _NobodyAnswers()

    monkeypatch.setattr(aioice.ice, "get_or_create_mdns_protocol", nobody)
    loopback = Loopback(camera.video_track)
    page = Page()
    try:
        offer = re.sub(r"^(a=candidate:\S+ \d+ \S+ \d+ )\S+", lambda m: m.group(1) + "0f1e2d3c.local",
                       await page.offer(), flags=re.MULTILINE)
        assert ".local" in offer
        answer = await asyncio.wait_for(loopback.answer(offer), 10)
        await page.accept(answer)
        assert (await page.frame("0")).width == 160
    finally:
        await loopback.close()
        await page.pc.close()
