"""The booth's end of the video call: the one aiortc peer connection, built only at the admit.

:class:`BoothCall` implements :class:`~appliance.hublink_base.CallHandler`. On ``start(call_id)``
it builds the peer connection from the ``hw`` tracks and sends its offer through the hub at once,
with every candidate inside (aiortc gathers while setting the local description and does not
trickle). With no STUN/TURN configured that is host candidates only, a few milliseconds. The
advisor's Chromium answers and trickles its candidates. The advisor's audio goes to the speaker
(never to a file), the advisor's video to the kiosk page through :class:`rtc.loopback.Loopback`:
still encoded as it arrived where the page's connection allows (rtc/forward.py).

After the hub link comes back mid-call, the booth offers a fresh peer connection for the same call:
it cannot know whether the advisor's side survived, and a new offer costs one round trip. So it does
when a peer connection is not connected ``connect_deadline_s`` after its offer (a lost offer or
answer, a handshake that stalled): left alone, such a call would wait for good, as the advisor's
trickled candidates never end aiortc's checks and so never fail them.

Example::

    call = BoothCall(link, devices.camera, devices.microphone, devices.speaker, loopback)
    await call.start("c-1234abcd")     # the session does this on "admitted"
    await call.stop()                  # and this when the call is over
"""

from __future__ import annotations

import asyncio
import logging
import platform
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import aiortc
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from hw.base import Camera, Microphone, Speaker
from rtc import protocol as p
from rtc.ice import IceProber
from rtc.icepace import use_prompt_ice
from rtc.codecs import prefer_codec
from rtc.adaptation import AdaptiveVideoTrack
from rtc.grading import QualitySample, call_grade
from rtc.quality import QualityMonitor
from rtc.forward import EncodedTaps, tap_encoded_video
from rtc.jitter import use_prompt_audio_jitter_buffer
from rtc.peerconnection import RemoteCandidates, rtc_configuration, show_remote_video
from rtc.sdp import with_start_bitrate
from rtc.audiocopy import OwnAudioTrack

from .hublink import HubConnection

log = logging.getLogger("videokiosk.call")
# The advisor's browser starts sending video at this rate (see rtc.sdp.with_start_bitrate).
START_BITRATE_KBPS = 1500
# A peer connection not connected this long after its offer is taken as hung, and offered afresh.
# A call connects in well under a second on a LAN and in a few over TURN; each further try of the
# same offer waits twice as long (up to CONNECT_DEADLINE_MAX_S), so a slow path still gets there.
CONNECT_DEADLINE_S = 10.0
CONNECT_DEADLINE_MAX_S = 80.0


class CallExtension(Protocol):
    """More on the call's peer connection (chat and screen sharing: appliance/chat.py)."""

    def attach(self, pc: RTCPeerConnection, call_id: str) -> None: ...  # before each offer
    def claims(self, track: MediaStreamTrack) -> bool: ...  # a remote track that is the extension's
    def detach(self, call_id: str | None) -> None: ...  # pc torn down; call_id None: the call is over


class CallStats:
    """What a technician (and ``make bench``) wants to know about the current call: times and counts."""

    def __init__(self) -> None:
        self.started_at: float | None = None  # time.time() at start()
        self.offer_sent_at: float | None = None  # the last offer's
        self.offers = 0  # a fresh peer connection each: the hub link's return, the console's, a deadline
        self.answer_at: float | None = None
        self.connected_at: float | None = None
        self.first_remote_frame_at: float | None = None
        # Frames of the advisor's video, decoded or not: while the kiosk page gets them still
        # encoded, the booth decodes the keyframes alone (rtc/forward.py), the first among them.
        self.remote_frames = 0
        self.first_frame = asyncio.Event()
        self.frame_arrived = asyncio.Event()  # set on every frame; waiters clear it


class BoothCall:
    def __init__(
        self,
        link: HubConnection,
        camera: Camera,
        microphone: Microphone,
        speaker: Speaker,
        loopback=None,
        *,
        technical_info: Callable[[], dict] | None = None,
        ice: IceProber | None = None,
        on_quality: Callable[[QualitySample], None] | None = None,
        on_summary: Callable[[str | None, float | None, float | None], None] | None = None,
        quality_interval_s: float = 3.0,
        extensions: Sequence[CallExtension] = (),
        connect_deadline_s: float = CONNECT_DEADLINE_S,
    ) -> None:
        self._extensions = list(extensions)
        self._link = link
        self._camera = camera
        self._microphone = microphone
        self._speaker = speaker
        self._loopback = loopback
        self._technical_info = technical_info or (lambda: {})
        self._ice = ice  # hands aiortc only the STUN/TURN servers that answered (rtc/ice.py)
        self._pc: RTCPeerConnection | None = None
        self._tracks: list[MediaStreamTrack] = []
        self._candidates: RemoteCandidates | None = None  # the advisor's, for the current pc
        self._encoded: EncodedTaps | None = None  # the advisor's encoded video, for the kiosk page
        self._watcher: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._connect_deadline_s = connect_deadline_s
        self._deadline: asyncio.TimerHandle | None = None  # for the current pc to connect
        self._retries = 0  # offers made again because the one before did not connect in time
        self.call_id: str | None = None
        self.stats = CallStats()
        #: The last decoded frame of the advisor's video, in memory only (never written anywhere).
        self.last_remote_frame = None
        self.muted = False
        # Call quality (rtc/quality.py): sampled every few seconds, sent to the hub (the advisor
        # sees it live), shown on the kiosk; the call's grade and mean rates go to on_summary.
        self._on_quality = on_quality
        self._on_summary = on_summary
        self._quality_interval_s = quality_interval_s
        self._monitor: QualityMonitor | None = None
        self.quality_samples: list[QualitySample] = []
        link.on_call_message(self._on_message)

    # --- CallHandler --------------------------------------------------------------------------

    async def start(self, call_id: str) -> None:
        if call_id == self.call_id:
            return  # already started when the hub link heard the admit
        self.call_id = call_id
        self.muted = False  # every call starts with the microphone on, whatever the last customer did
        self.quality_samples = []
        self.stats = CallStats()
        self.stats.started_at = time.time()
        await self._offer()

    async def stop(self) -> None:
        was_in_call = self.call_id is not None
        self.call_id = None
        async with self._lock:
            await self._teardown()
        if was_in_call and self._on_summary is not None and self.quality_samples:
            n = len(self.quality_samples)
            self._on_summary(call_grade(self.quality_samples),
                             round(sum(s.send_kbps for s in self.quality_samples) / n, 1),
                             round(sum(s.recv_kbps for s in self.quality_samples) / n, 1))

    def set_muted(self, muted: bool) -> None:
        """The customer's mute button: the microphone track sends silence while muted."""
        self.muted = muted

    # --- the peer connection ------------------------------------------------------------------

    async def _offer(self, *, retry: bool = False) -> None:
        """A fresh peer connection and its offer; ``retry``: the last one did not connect in time."""
        async with self._lock:
            self._retries = self._retries + 1 if retry else 0
            await self._teardown()
            call_id = self.call_id
            if call_id is None:
                return
            servers = self._ice.usable(self._link.ice_servers) if self._ice else self._link.ice_servers
            pc = self._pc = RTCPeerConnection(rtc_configuration(servers))
            self._candidates = RemoteCandidates(pc)
            # A camera with its own H.264 encoder sends its packets as they are (no decode, no
            # re-encode): the offer then lists that codec alone. Others send frames, any codec.
            codec = getattr(self._camera, "passthrough_codec", None)
            video = AdaptiveVideoTrack(self._camera.video_track(encoded=True) if codec else self._camera.video_track())
            # A private copy of each microphone frame: a peer link's track shares the device's frames.
            self._tracks = [video, OwnAudioTrack(self._microphone.audio_track(), muted=lambda: self.muted)]
            for track in self._tracks:
                pc.addTrack(track)
            if codec and not prefer_codec([t for t in pc.getTransceivers() if t.kind == "video"], codec):
                log.warning("call %s: this aiortc cannot send %s; the camera's packets cannot pass", call_id, codec)
            for extension in self._extensions:
                extension.attach(pc, call_id)
            # The advisor's frames decode one frame interval sooner (rtc/jitter.py), and reach
            # the kiosk page still encoded (rtc/forward.py).
            self._encoded = tap_encoded_video(pc)
            use_prompt_audio_jitter_buffer(pc)  # the advisor's voice plays 80 ms sooner (rtc/jitter.py)
            use_prompt_ice(pc)  # connected when the checks succeed, not at aioice's next tick
            self._monitor = QualityMonitor(pc, video, interval_s=self._quality_interval_s,
                                           on_sample=lambda sample: self._quality(call_id, video, sample))
            pc.on("track", self._on_track)
            pc.on("connectionstatechange", lambda: self._on_state(pc))
            await pc.setLocalDescription(await pc.createOffer())
            self.stats.offer_sent_at = time.time()
            self.stats.offers += 1
            sdp = with_start_bitrate(pc.localDescription.sdp, START_BITRATE_KBPS)
            await self._link.send(p.Offer(call_id=call_id, sdp=sdp))
            log.info("call %s: offer sent", call_id)
            wait = min(self._connect_deadline_s * 2 ** self._retries, CONNECT_DEADLINE_MAX_S)
            self._deadline = asyncio.get_running_loop().call_later(wait, self._not_connected, pc, wait)

    def _not_connected(self, pc: RTCPeerConnection, waited: float) -> None:
        self._deadline = None
        # (A torn-down pc's deadline was cancelled with it.) Away: the link's return offers afresh.
        if pc.connectionState == "connected" or not self._link.connected.is_set():
            return
        log.warning("call %s: not connected %.0f s after the offer (%s); offering again",
                    self.call_id, waited, pc.connectionState)
        asyncio.ensure_future(self._offer(retry=True))

    def _on_track(self, track: MediaStreamTrack) -> None:
        if any(extension.claims(track) for extension in self._extensions):
            return
        if track.kind == "audio":
            asyncio.ensure_future(self._speaker.play(track))
            return
        encoded = self._encoded.for_track(track) if self._encoded is not None else None
        show = self._loopback.set_remote_video if self._loopback is not None else None
        self._watcher = show_remote_video(track, show, self._remote_frame, encoded)

    def _remote_frame(self, frame) -> None:
        """A frame of the advisor's video, decoded (None: forwarded to the page undecoded): note when frames arrive."""
        self.stats.remote_frames += 1
        self.stats.frame_arrived.set()
        if frame is None:
            return
        self.last_remote_frame = frame
        if self.stats.first_remote_frame_at is None:
            self.stats.first_remote_frame_at = time.time()
            self.stats.first_frame.set()
            log.info("call %s: the advisor's video arrives", self.call_id)

    def _quality(self, call_id: str, video: AdaptiveVideoTrack, sample: QualitySample) -> None:
        if call_id != self.call_id:
            return
        self.quality_samples.append(sample)
        fields = {k: v for k, v in sample.as_dict().items() if k in p.Quality.model_fields}
        asyncio.ensure_future(self._link.send(p.Quality(call_id=call_id, level=video.level, **fields)))
        if self._on_quality is not None:
            self._on_quality(sample)

    def _on_state(self, pc: RTCPeerConnection) -> None:
        if pc is not self._pc:
            return
        log.info("call %s: %s", self.call_id, pc.connectionState)
        if pc.connectionState == "connected" and self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if pc.connectionState == "connected" and self._monitor is not None:
            self._monitor.start()
        if pc.connectionState == "connected" and self.stats.connected_at is None:
            self.stats.connected_at = time.time()
            if self.call_id:
                info = {k: v for k, v in self._technical_info().items() if k in p.CallInfo.model_fields}
                info.setdefault("os", f"{platform.system()} {platform.release()}"[:80])
                info.setdefault("browser", f"aiortc {aiortc.__version__}")
                asyncio.ensure_future(self._link.send(p.CallInfo(call_id=self.call_id, **info)))
        elif pc.connectionState == "failed" and self.call_id and self._link.connected.is_set():
            asyncio.ensure_future(self._offer())  # media path died but the hub is there: try again

    async def _on_message(self, msg: p.Message) -> None:
        if isinstance(msg, p.Admitted):
            # Awaited, not spawned: the offer leaves before the session's own work on the admit
            # (screen, store, speaker) gets the loop; under load that work cost the offer 15-30 ms.
            await self.start(msg.call_id)
            return
        if isinstance(msg, p.CallEnded):
            await self.stop()
            return
        if self.call_id is None:
            return
        match msg:
            case p.Welcome():
                await self._offer()  # rejoined after a drop
            case p.RestartCall(call_id=call_id) if call_id == self.call_id:
                await self._offer()  # the advisor's console came back
            case p.Answer(call_id=call_id, sdp=sdp) if call_id == self.call_id and self._pc is not None:
                if self._pc.signalingState != "have-local-offer":
                    log.info("call %s: a second answer to one offer, ignored", call_id)
                    return
                self.stats.answer_at = time.time()
                await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
                await self._candidates.described()
            case p.Candidate(call_id=call_id) if call_id == self.call_id and self._candidates is not None:
                await self._candidates.add(msg)

    async def _teardown(self) -> None:
        pc, self._pc = self._pc, None
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._candidates = None
        monitor, self._monitor = self._monitor, None
        if monitor is not None:
            await monitor.stop()
        if self._loopback is not None:
            self._loopback.set_remote_video(None)
        encoded, self._encoded = self._encoded, None
        if encoded is not None:
            encoded.close()
        for extension in self._extensions:
            extension.detach(self.call_id)
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        await self._speaker.stop()
        for track in self._tracks:
            track.stop()
        self._tracks = []
        if pc is not None:
            await pc.close()

