"""The advisor's encoded video forwarded to the kiosk page (rtc/forward.py), with real aiortc peers.

An "advisor" aiortc peer sends VP8 to a "booth" peer built like the call (appliance/call.py); the
booth's loopback (rtc/loopback.py) shows it to a "page" peer. What the page decodes must be the
advisor's picture, forwarded without a re-encode where the page took the advisor's codec, and
re-encoded where it did not, or where this aiortc lacks what forwarding needs.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCSessionDescription, VideoStreamTrack

from hw.synthetic import SyntheticCamera
from rtc.forward import EncodedFrame, ForwardedVideoTrack, is_keyframe, tap_encoded_video
from rtc.loopback import Loopback
from rtc.peerconnection import show_remote_video
from tests.appliance.test_loopback import Page

ADVISOR_SIZE = (320, 240)  # the booth camera's is 160x120: a frame's size says whose it is


class _AdvisorCamera(VideoStreamTrack):
    async def recv(self):
        frame = await super().recv()
        return frame.reformat(width=ADVISOR_SIZE[0], height=ADVISOR_SIZE[1])


class Call:
    """Advisor -> booth as appliance/call.py builds it, the booth showing the advisor on its loopback."""

    def __init__(self, loopback: Loopback) -> None:
        self.advisor, self.booth = RTCPeerConnection(), RTCPeerConnection()
        self.loopback = loopback
        self.decoded = 0
        self.decoded_one = asyncio.Event()  # set on every frame the booth decodes; waiters clear it
        self.watcher = None
        self.taps = None

    async def connect(self) -> None:
        # The booth offers, as at the admit; the advisor's browser answers with its camera.
        self.booth.addTransceiver("video", direction="recvonly")
        self.taps = tap_encoded_video(self.booth)
        self.booth.on("track", self._on_track)
        await self.booth.setLocalDescription(await self.booth.createOffer())
        await self.advisor.setRemoteDescription(self.booth.localDescription)
        self.advisor.addTrack(_AdvisorCamera())
        await self.advisor.setLocalDescription(await self.advisor.createAnswer())
        await self.booth.setRemoteDescription(self.advisor.localDescription)

    def _on_track(self, track) -> None:
        encoded = self.taps.for_track(track) if self.taps else None
        self.watcher = show_remote_video(track, self.loopback.set_remote_video, self._frame, encoded)

    def _frame(self, frame) -> None:
        if frame is None:
            return  # forwarded to the page, not decoded here
        self.decoded += 1
        self.decoded_one.set()

    async def decoded_at_least(self, count: int, timeout: float = 20.0) -> None:
        async def more() -> None:
            while self.decoded < count:
                self.decoded_one.clear()
                await self.decoded_one.wait()

        await asyncio.wait_for(more(), timeout)

    async def close(self) -> None:
        if self.watcher is not None:
            self.watcher.cancel()
        self.loopback.set_remote_video(None)
        if self.taps is not None:
            self.taps.close()
        await self.advisor.close()
        await self.booth.close()


@pytest.fixture
async def camera():
    cam = SyntheticCamera(width=160, height=120, fps=10)
    yield cam
    await cam.close()


async def _advisor_on_page(loopback: Loopback, page: Page, frames: int = 10) -> tuple[list, int | None]:
    """The advisor's frames the page decodes while the call runs, and how many the loopback forwarded."""
    call = Call(loopback)
    try:
        await page.accept(await loopback.answer(await page.offer()))
        await call.connect()
        shown = [await page.frame("1") for _ in range(frames)]
        return shown, loopback.forwarded_frames()
    finally:
        await call.close()
        await loopback.close()
        await page.pc.close()


async def test_the_advisor_reaches_the_page_still_encoded(camera):
    loopback = Loopback(camera.video_track)
    shown, forwarded = await _advisor_on_page(loopback, Page())
    assert {(f.width, f.height) for f in shown} == {ADVISOR_SIZE}
    assert forwarded >= len(shown)
    assert loopback.forwarded_frames() is None  # the call is over: nothing forwards any more


async def test_while_the_page_forwards_the_booth_decodes_keyframes_alone_and_after_it_every_frame(camera):
    """A second decode of every forwarded frame costs the booth's CPU what its camera's encoder needs."""
    loopback = Loopback(camera.video_track)
    page, call = Page(), Call(loopback)
    try:
        await page.accept(await loopback.answer(await page.offer()))
        await call.connect()
        shown = [await page.frame("1") for _ in range(20)]
        assert {(f.width, f.height) for f in shown} == {ADVISOR_SIZE}
        # The first frame (a keyframe: the call's bookkeeping rests on it) and any keyframe asked for.
        assert 1 <= call.decoded <= 3, call.decoded
        await loopback.close()  # the page is gone: the booth decodes again, from a keyframe it asks for
        await call.decoded_at_least(call.decoded + 10)
    finally:
        await call.close()
        await loopback.close()
        await page.pc.close()


async def test_with_an_aiortc_that_decodes_otherwise_the_booth_decodes_every_frame(camera, monkeypatch, caplog):
    monkeypatch.setattr("rtc.forward._DECODER_QUEUE", "_RTCRtpReceiver__no_such_queue")
    loopback = Loopback(camera.video_track)
    page, call = Page(), Call(loopback)
    try:
        await page.accept(await loopback.answer(await page.offer()))
        await call.connect()
        for _ in range(10):
            await page.frame("1")
        await call.decoded_at_least(10)  # still forwarded to the page, and decoded here as before
        assert loopback.forwarded_frames() >= 10 and "decodes the advisor's video" in caplog.text
    finally:
        await call.close()
        await loopback.close()
        await page.pc.close()


async def test_a_page_that_took_another_codec_gets_the_advisor_re_encoded(camera):
    page = Page()
    h264 = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == "video/H264"]
    for transceiver in page.pc.getTransceivers():
        transceiver.setCodecPreferences(h264)  # the advisor sends VP8
    shown, forwarded = await _advisor_on_page(Loopback(camera.video_track), page, frames=5)
    assert {(f.width, f.height) for f in shown} == {ADVISOR_SIZE} and forwarded is None


async def test_without_aiortcs_picture_loss_request_the_advisor_is_re_encoded(camera, monkeypatch, caplog):
    monkeypatch.delattr(RTCRtpReceiver, "_send_rtcp_pli")
    shown, forwarded = await _advisor_on_page(Loopback(camera.video_track), Page(), frames=5)
    assert {(f.width, f.height) for f in shown} == {ADVISOR_SIZE} and forwarded is None
    assert "re-encoded" in caplog.text


async def test_switched_off_the_advisor_is_re_encoded(camera):
    shown, forwarded = await _advisor_on_page(Loopback(camera.video_track, forward_encoded=False), Page(), frames=5)
    assert {(f.width, f.height) for f in shown} == {ADVISOR_SIZE} and forwarded is None


class _Source:
    """What a ForwardedVideoTrack needs of its EncodedVideo."""

    def __init__(self) -> None:
        self.keyframes_asked = 0

    def request_keyframe(self) -> None:
        self.keyframes_asked += 1

    def unsubscribe(self, _track) -> None:
        pass


def _frame(data: bytes, follows: bool = True, mime: str = "video/VP8", arrived: float = 0.0) -> EncodedFrame:
    return EncodedFrame(mime=mime, data=data, keyframe=is_keyframe(mime, data), follows=follows, arrived=arrived)


KEY, DELTA = b"\x10rest", b"\x11rest"  # VP8 frame tags: P bit 0 (key) and 1 (inter)


async def test_a_page_starts_at_a_keyframe_and_waits_for_the_next_after_a_lost_frame():
    source = _Source()
    track = ForwardedVideoTrack(source, "video/VP8", VideoStreamTrack())
    # Subscribed in the middle of the advisor's stream: a delta frame first, that cannot decode alone.
    for frame in (_frame(DELTA), _frame(KEY), _frame(DELTA), _frame(DELTA, follows=False), _frame(DELTA),
                  _frame(KEY + b"2", follows=False), _frame(DELTA + b"3"), _frame(KEY + b"4", follows=False)):
        track.put(frame)
    got = [bytes(await asyncio.wait_for(track.recv(), 5)) for _ in range(5)]
    assert got == [KEY, DELTA, KEY + b"2", DELTA + b"3", KEY + b"4"]  # a keyframe after a loss needs nothing before it
    assert source.keyframes_asked == 1  # at the lost frame
    assert track.forwarded == 5


async def test_a_page_that_fell_behind_skips_to_the_next_keyframe_instead_of_showing_the_past():
    source = _Source()
    track = ForwardedVideoTrack(source, "video/VP8", VideoStreamTrack())
    track.put(_frame(KEY, arrived=0.0))
    assert bytes(await asyncio.wait_for(track.recv(), 5)) == KEY
    step = 1 / 30
    for n in range(1, 10):  # the sender reads nothing for 300 ms: frames queue up
        track.put(_frame(DELTA + bytes([n]), arrived=n * step))
    track.put(_frame(KEY + b"new", follows=True, arrived=10 * step))
    got = bytes(await asyncio.wait_for(track.recv(), 5))
    assert got == KEY + b"new"  # not the delta frames 300 ms old
    assert source.keyframes_asked == 1


def test_keyframes_are_told_apart():
    assert is_keyframe("video/VP8", KEY) and not is_keyframe("video/VP8", DELTA)
    idr, non_idr = b"\x00\x00\x00\x01\x67sps\x00\x00\x00\x01\x65slice", b"\x00\x00\x00\x01\x41slice"
    assert is_keyframe("video/H264", idr) and not is_keyframe("video/H264", non_idr)
    assert not is_keyframe("video/VP8", b"")


class _Receiver:
    def __init__(self) -> None:
        self.asked: list[float] = []
        self.changed = asyncio.Event()

    async def _send_rtcp_pli(self, ssrc: int) -> None:
        self.asked.append(asyncio.get_running_loop().time())
        self.changed.set()

    async def until_asked(self, times: int) -> None:
        while len(self.asked) < times:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 5)


class _Transceiver:
    def __init__(self) -> None:
        self.receiver = _Receiver()
        self.mid = "0"


async def test_keyframe_requests_reach_the_advisor_at_most_twice_a_second():
    from aiortc.jitterbuffer import JitterFrame
    from aiortc.rtp import RtpPacket

    from rtc.forward import EncodedVideo

    transceiver = _Transceiver()
    asked = transceiver.receiver
    video = EncodedVideo(None, transceiver)
    video.tap([RtpPacket(payload_type=96, sequence_number=1, ssrc=1234)], JitterFrame(data=KEY, timestamp=0))
    for _ in range(20):  # a page that keeps falling behind asks again and again
        video.request_keyframe()
    await asked.until_asked(1)
    for _ in range(20):
        video.request_keyframe()
    await asked.until_asked(2)  # the next one waits for its turn
    assert len(asked.asked) == 2
    assert asked.asked[1] - asked.asked[0] >= 0.49  # the promise: twice a second at most
    video.close()


class _Pc:
    """What EncodedVideo reads of the booth's peer connection: its description's payload types."""

    class localDescription:  # noqa: N801 - aiortc's attribute name
        sdp = ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n"
               "a=mid:0\r\na=rtpmap:96 VP8/90000\r\n")


async def test_the_booth_decodes_what_it_forwards_only_at_keyframes_and_resumes_at_one_it_asks_for():
    from aiortc.jitterbuffer import JitterFrame
    from aiortc.rtp import RtpPacket

    from rtc.forward import EncodedVideo

    transceiver = _Transceiver()
    sequence = itertools.count(1)
    video = EncodedVideo(_Pc(), transceiver, may_skip_decoding=True)

    def decoded(data: bytes) -> bool:
        packet = RtpPacket(payload_type=96, sequence_number=next(sequence), ssrc=1234)
        return video.tap([packet], JitterFrame(data=data, timestamp=0))

    page = video.subscribe("video/VP8", VideoStreamTrack())
    assert [decoded(KEY), decoded(DELTA), decoded(DELTA)] == [True, False, False]
    page.stop()  # no page forwards any more: the booth decodes again, from a keyframe on
    assert [decoded(DELTA), decoded(DELTA)] == [False, False]  # they refer to frames its decoder never had
    await transceiver.receiver.until_asked(1)  # ... so it asks the advisor for one at once
    assert [decoded(KEY), decoded(DELTA)] == [True, True]
    video.close()
