"""The advisor's video to the kiosk page as it arrived: forwarded, never decoded and encoded again.

The kiosk page shows the advisor through the daemon (rtc/loopback.py: the kiosk's Chromium has no
camera and no microphone, and talks to the daemon alone). Decoding the advisor's frames and
encoding them again for the page cost the advisor's face on the kiosk 1.30x the glass-to-glass
latency of a plain Chromium <-> Chromium call (issue 20: a VP8 encode of ~4 ms in a thread shared
with the self-view's encoder, frames queued behind it and painted in bursts). Here each complete
frame of the advisor's video, still encoded (VP8 or H.264, RTP payload headers stripped), goes
from the call's jitter buffer straight to the page's sender, which packs pre-encoded data as it is
(aiortc's ``RTCRtpSender`` does so for any ``av.Packet``: the path hw/encoded.py's cameras use).

A decoder needs a keyframe to start and every frame after it, so a subscription (one per page
connection) starts at a keyframe and asks the advisor's browser for one (RTCP PLI); after a gap (a
frame the jitter buffer gave up on) or a page that fell behind it waits for the next keyframe again,
and the kiosk browser's own keyframe requests are passed on to the advisor.

While every page connection forwards, the booth itself decodes the advisor's keyframes alone (the
first frame among them, which the call's bookkeeping and a technician's look rest on): decoding
each frame here as well cost the booth 0.8 ms of CPU per 640x480 frame at the advisor's start rate
on the bench machine (bench/bench_forward.py; several times that on a Pi's cores), on the cores its
own camera's encoder needs. Once a page wants decoded frames again (it fell back, or there is no
page), decoding resumes at the next keyframe, asked for at once: a decoder that skipped frames
would show garbage until then.

Version-checked like rtc/icepace.py: with an aiortc lacking the private parts used here (the
receiver's jitter buffer and PLI, the sender's keyframe request) :func:`tap_encoded_video` still
installs rtc/jitter.py's buffer but forwards nothing, and the page gets decoded frames re-encoded,
as it would with a page that negotiated another codec than the advisor sends. With an aiortc whose
receiver does not decode what its jitter buffer hands it (its decoder queue), the booth decodes
every frame as before.

Example::

    taps = tap_encoded_video(pc)        # the call's pc, instead of rtc.jitter.use_marker_jitter_buffer
    ...                                 # on its "track" event:
    loopback.set_remote_video(track, encoded=taps.for_track(track))
"""

from __future__ import annotations

import asyncio
import collections
import fractions
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import VIDEO_CLOCK_RATE, MediaStreamError, MediaStreamTrack
from aiortc.rtp import RtpPacket
from aiortc.sdp import SessionDescription

from .jitter import Tap, use_marker_jitter_buffer

log = logging.getLogger("videokiosk.forward")
FORWARDABLE = ("video/VP8", "video/H264")
# How far a page's sender may fall behind before it skips to the next keyframe. No frame can be
# left out in between (the next ones refer to it), so a starved booth would otherwise show the face
# ever later (bench_latency on a machine at load 19: seconds, while re-encoding drops frames); a
# fresh keyframe, asked for at once, is the quickest way back. 200 ms: six frames at 30 fps.
MAX_LAG_S = 0.2
# Keyframe requests to the advisor's browser at most this often, later ones wait for their turn: a
# page that cannot keep up (or is gone) must not make the advisor's encoder send keyframe after
# keyframe, each several times a delta frame's size, to the detriment of the whole call.
MIN_KEYFRAME_INTERVAL_S = 0.5
_PLI = "_send_rtcp_pli"  # aiortc's RTCRtpReceiver: sends a picture loss indication
_KEYFRAME = "_send_keyframe"  # aiortc's RTCRtpSender: what an incoming PLI/FIR calls
# aiortc's RTCRtpReceiver queues each frame its jitter buffer completes for its decoder thread, and
# none when the buffer returns None: what lets a forwarded frame go undecoded.
_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"


def is_keyframe(mime: str, data: bytes) -> bool:
    """Whether a depayloaded frame decodes on its own (VP8: RFC 6386 9.1; H.264: an IDR slice)."""
    if not data:
        return False
    if mime == "video/VP8":
        return not data[0] & 0x01  # the frame tag's P bit: 0 is a key frame
    # aiortc's H.264 depayloader writes every NAL unit after a four-byte start code.
    return any(nal and nal[0] & 0x1F == 5 for nal in data.split(b"\x00\x00\x00\x01"))


@dataclass(frozen=True)
class EncodedFrame:
    mime: str
    data: bytes
    keyframe: bool
    follows: bool  # its first packet comes right after the last packet of the frame before
    arrived: float  # time.monotonic() when its last packet came in


class ForwardedVideoTrack(MediaStreamTrack):
    """One page connection's copy of the advisor's encoded video, as ``av.Packet`` for its sender.

    Frames of another codec than ``mime`` (what the page's sender negotiated) cannot pass: the
    track then hands on ``decoded`` (frames the sender encodes) for good.
    """

    kind = "video"

    def __init__(self, source: EncodedVideo, mime: str, decoded: MediaStreamTrack) -> None:
        super().__init__()
        self._source = source
        self._mime = mime
        self._decoded = decoded
        self._frames: collections.deque[EncodedFrame | None] = collections.deque()  # None: the end
        self._arrived = asyncio.Event()
        self._waiting = True  # for a keyframe: nothing before one decodes
        self._start = time.monotonic()
        self.forwarded = 0
        self.fell_back = False

    def put(self, frame: EncodedFrame | None) -> None:
        oldest = self._frames[0] if self._frames else None
        if frame is not None and oldest is not None and frame.arrived - oldest.arrived > MAX_LAG_S:
            self._frames.clear()  # all stale: the next keyframe is the way back
            self._skip_to_keyframe("the page's sender fell behind")
        self._frames.append(frame)
        self._arrived.set()

    async def _next(self) -> EncodedFrame | None:
        while not self._frames:
            self._arrived.clear()
            await self._arrived.wait()
        return self._frames.popleft()

    def _skip_to_keyframe(self, why: str) -> None:
        if not self._waiting:
            log.info("forwarded video: %s; waiting for a keyframe", why)
        self._waiting = True
        self._source.request_keyframe()

    def keyframe_wanted(self) -> None:
        """The page's browser asked the sender for a keyframe (its decoder lost track)."""
        self._source.request_keyframe()

    async def recv(self) -> av.Packet | av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        while not self.fell_back:
            frame = await self._next()
            if frame is None:
                self.stop()
                raise MediaStreamError
            if frame.mime != self._mime:
                log.info("forwarded video: the advisor sends %s, the page takes %s; re-encoding", frame.mime, self._mime)
                self.fell_back = True
                break
            if not frame.follows and not frame.keyframe and not self._waiting:
                self._skip_to_keyframe("a frame was lost on the way in")
                continue
            if self._waiting and not frame.keyframe:
                continue
            self._waiting = False
            self.forwarded += 1
            packet = av.Packet(frame.data)
            # Stamped on arrival here, not with the advisor's capture clock: the page's jitter
            # buffer then sees this hop's jitter alone, and shows each frame as it comes.
            packet.pts = int((frame.arrived - self._start) * VIDEO_CLOCK_RATE)
            packet.time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
            return packet
        return await self._decoded.recv()

    def stop(self) -> None:
        super().stop()
        self._source.unsubscribe(self)
        self._decoded.stop()


class EncodedVideo:
    """The complete encoded frames of one video receiver, for any number of page connections."""

    def __init__(self, pc: RTCPeerConnection, transceiver: RTCRtpTransceiver, *, may_skip_decoding: bool = False) -> None:
        self._pc = pc
        self._transceiver = transceiver
        self._may_skip_decoding = may_skip_decoding
        self._decoder_in_step = True  # the receiver's decoder had every frame since its last keyframe
        self._undecoded: Callable[[], None] | None = None
        self._mimes: dict[int, str] | None = None
        self._subscribers: list[ForwardedVideoTrack] = []
        self._ssrc: int | None = None
        self._last_sequence: int | None = None
        self._asked_at = -MIN_KEYFRAME_INTERVAL_S  # time.monotonic() of the last keyframe request
        self._asking: asyncio.TimerHandle | None = None

    @property
    def receiver(self) -> RTCRtpReceiver:
        return self._transceiver.receiver

    def tap(self, packets: list[RtpPacket], frame: JitterFrame) -> bool:
        """rtc/jitter.py's buffer completed ``frame`` from ``packets``: hand it to every page.

        Returns whether the receiver decodes it as well (see :meth:`_decode`).
        """
        first, last = packets[0], packets[-1]
        follows = self._last_sequence is not None and first.sequence_number == (self._last_sequence + 1) % 65536
        self._last_sequence, self._ssrc = last.sequence_number, last.ssrc
        if not (self._subscribers or self._may_skip_decoding):
            return True  # nothing to forward, nothing to skip: decoded as by aiortc alone
        mime = self._mime(first.payload_type)
        keyframe = is_keyframe(mime, frame.data)
        if self._subscribers:
            encoded = EncodedFrame(mime=mime, data=frame.data, keyframe=keyframe, follows=follows, arrived=time.monotonic())
            for subscriber in self._subscribers:
                subscriber.put(encoded)
        decode = self._decode(keyframe)
        if not decode and self._undecoded is not None:
            self._undecoded()
        return decode

    def when_undecoded(self, arrived: Callable[[], None]) -> None:
        """``arrived()`` for each frame the receiver does not decode (it counts that frames come)."""
        self._undecoded = arrived

    def _decode(self, keyframe: bool) -> bool:
        """Every frame while decoded frames are wanted (no page connection, or one fell back to
        them), else keyframes alone; after skipped frames, from the next keyframe on."""
        if keyframe or not self._may_skip_decoding:
            self._decoder_in_step = True
            return True
        if self._subscribers and not any(s.fell_back for s in self._subscribers):
            self._decoder_in_step = False
            return False
        if not self._decoder_in_step:
            self.request_keyframe()
            return False
        return True

    def _mime(self, payload_type: int) -> str:
        if self._mimes is None:  # the booth's offer or answer names the payload types both sides use
            description = SessionDescription.parse(self._pc.localDescription.sdp)
            media = next((m for m in description.media if m.rtp.muxId == self._transceiver.mid), None)
            self._mimes = {c.payloadType: c.mimeType for c in media.rtp.codecs} if media else {}
        return self._mimes.get(payload_type, "unknown")

    def subscribe(self, mime: str, decoded: MediaStreamTrack) -> ForwardedVideoTrack:
        """A new page connection's track, sending ``mime``; ``decoded`` if the advisor sends another."""
        track = ForwardedVideoTrack(self, mime, decoded)
        self._subscribers.append(track)
        self.request_keyframe()
        return track

    def unsubscribe(self, track: ForwardedVideoTrack) -> None:
        if track in self._subscribers:
            self._subscribers.remove(track)

    def request_keyframe(self) -> None:
        # Before the first packet there is no one to ask: the advisor's first frame is a keyframe.
        if self._ssrc is None or self._asking is not None:
            return
        wait = self._asked_at + MIN_KEYFRAME_INTERVAL_S - time.monotonic()
        self._asking = asyncio.get_running_loop().call_later(max(0.0, wait), self._ask)

    def _ask(self) -> None:
        self._asking, self._asked_at = None, time.monotonic()
        asyncio.ensure_future(getattr(self.receiver, _PLI)(self._ssrc))

    def close(self) -> None:
        """The call is over: every page connection's track ends, as a decoded track would."""
        for subscriber in list(self._subscribers):
            subscriber.put(None)
        self._subscribers = []
        if self._asking is not None:
            self._asking.cancel()
            self._asking = None


class EncodedTaps:
    """The encoded videos of one peer connection's receivers (see :func:`tap_encoded_video`)."""

    def __init__(self, videos: list[EncodedVideo]) -> None:
        self._videos = videos

    def for_track(self, track: MediaStreamTrack) -> EncodedVideo | None:
        """The encoded frames of the remote ``track``; None if they cannot be forwarded."""
        return next((v for v in self._videos if v.receiver.track is track), None)

    def close(self) -> None:
        for video in self._videos:
            video.close()


def tap_encoded_video(pc: RTCPeerConnection) -> EncodedTaps:
    """rtc/jitter.py's buffer in ``pc``'s video receivers, their complete frames tapped for the page.

    Call it where :func:`rtc.jitter.use_marker_jitter_buffer` would be called, after the
    transceivers exist. Without the aiortc parts forwarding needs, nothing is tapped (a log line).
    """
    receivers = [t.receiver for t in pc.getTransceivers() if t.kind == "video"]
    may_skip_decoding = all(hasattr(r, _DECODER_QUEUE) for r in receivers)
    if not may_skip_decoding:
        log.warning("aiortc's receiver changed: the booth decodes the advisor's video it forwards")
    if not all(callable(getattr(r, _PLI, None)) for r in receivers) or not callable(getattr(RTCRtpSender, _KEYFRAME, None)):
        log.warning("aiortc's receiver or sender changed: the advisor's video is re-encoded for the kiosk page")
        use_marker_jitter_buffer(pc)
        return EncodedTaps([])
    videos: dict[RTCRtpTransceiver, EncodedVideo] = {}

    def tap_for(transceiver: RTCRtpTransceiver) -> Tap:
        videos[transceiver] = EncodedVideo(pc, transceiver, may_skip_decoding=may_skip_decoding)
        return videos[transceiver].tap

    swapped = use_marker_jitter_buffer(pc, tap_for=tap_for)
    return EncodedTaps(list(videos.values()) if swapped else [])


def sent_mime(pc: RTCPeerConnection, transceiver: RTCRtpTransceiver) -> str | None:
    """The codec ``transceiver``'s sender uses (the first its local description lists), once set."""
    if pc.localDescription is None:
        return None
    description = SessionDescription.parse(pc.localDescription.sdp)
    media = next((m for m in description.media if m.rtp.muxId == transceiver.mid), None)
    return media.rtp.codecs[0].mimeType if media is not None and media.rtp.codecs else None


def pass_keyframe_requests(sender: RTCRtpSender, wanted: Callable[[], None]) -> bool:
    """The page's keyframe requests (RTCP PLI/FIR) to ``sender`` also call ``wanted``.

    aiortc answers them by encoding the next frame as a keyframe, which a forwarded frame never is:
    the request must go on to the advisor's browser. aiortc has no event for them, so the sender's
    handler is wrapped; an aiortc without it: False (and no frame is forwarded, see
    :func:`tap_encoded_video`).
    """
    own = getattr(sender, _KEYFRAME, None)
    if not callable(own):
        return False

    def either() -> None:
        own()
        wanted()

    sender._send_keyframe = either
    return True
