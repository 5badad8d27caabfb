"""The daemon's peer connection to its own kiosk page, on 127.0.0.1 only.

The booth's Chromium never gets camera or microphone permission: the daemon alone owns them and
hands the page what it should show as video. The page offers two receive-only video
transceivers; :meth:`Loopback.answer` sends the camera self-view on the first and the "remote"
video (the advisor, during a call) on the second. :meth:`Loopback.set_remote_video` sets or
replaces that second track at any time, also before the page has connected; each slot's sender
reads one :class:`~rtc.slottrack.SlotTrack` for the whole page connection, so a track that ends
(the call's peer connection offered anew) never ends the sender. Given the advisor's encoded
frames as well (rtc/forward.py), the page gets those as they arrived, not decoded and encoded
again here, whenever its connection negotiated the codec the advisor sends. A page that offers a
third transceiver gets the advisor's shared screen on it (:meth:`Loopback.set_screen_video`, same
rules). In a group call the page's fourth and fifth transceivers carry the further participants
(an interpreter joining from home, say: :meth:`Loopback.set_peer_video`), each tile labelled by
the page with the role it hears of separately. Audio never goes to the browser (the booth's
speaker plays it).

Example::

    loopback = Loopback(camera.video_track)
    answer_sdp = await loopback.answer(offer_sdp)     # from the page, over the UI WebSocket
    loopback.set_remote_video(advisor_track)          # the call handler, once media flows
    await loopback.close()                            # leaving the device check / the call
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from .codecs import prefer_codec
from .errors import CallError
from .forward import FORWARDABLE, EncodedVideo, ForwardedVideoTrack, pass_keyframe_requests, sent_mime
from .peerconnection import rtc_configuration
from .sdp import without_mdns_candidates
from .slottrack import SlotTrack
from .videocopy import OwnVideoTrack

log = logging.getLogger("videokiosk.loopback")
#: Further participants a booth can show: four parties at most, the booth and the advisor among them.
PEER_SLOTS = 2
# In a call the self-view is a tile a quarter of the screen wide (kiosk_ui/style.css): half the
# camera's width and height fill it, for a quarter of the encoding the booth's CPU does for it
# (issue 20: a Pi's budget, and a self-view that competes less with the call's own encoder).
SELF_VIEW_SCALE_IN_CALL = 0.5


class Loopback:
    """At most one peer connection to the kiosk page; a new offer replaces the old one.

    ``camera_track`` returns a new live camera track each call (``hw`` Camera.video_track);
    ``passthrough_codec`` is the camera's pre-encoded codec ("video/H264") if it has one;
    ``forward_encoded``: False re-encodes the advisor's video for the page even where it could
    be forwarded (config ``[hardware] forward_encoded_video``; the bench's "before").
    """

    def __init__(
        self,
        camera_track: Callable[[], MediaStreamTrack],
        *,
        passthrough_codec: str | None = None,
        when_answered: Callable[[], None] | None = None,
        forward_encoded: bool = True,
    ) -> None:
        self._camera_track = camera_track
        self._codec = passthrough_codec
        self._relay = MediaRelay()
        # The page's second and third transceivers: the advisor's camera and shared screen; then
        # one per further participant of a group call.
        self._videos: dict[str, MediaStreamTrack | None] = {"remote": None, "screen": None}
        self._videos.update({f"peer{i}": None for i in range(PEER_SLOTS)})
        self._forward = forward_encoded
        self._encoded: dict[str, EncodedVideo | None] = {slot: None for slot in self._videos}
        self._forwarded: dict[str, ForwardedVideoTrack] = {}  # what each slot forwards now
        self._mimes: dict[str, str | None] = {}  # the codec each slot's sender negotiated
        self._slots: dict[str, SlotTrack] = {}  # what each slot's sender reads, per page connection
        self._pc: RTCPeerConnection | None = None
        self._self_track: MediaStreamTrack | None = None
        self._lock = asyncio.Lock()
        #: Set while no connection to the page exists (await it to know the camera stopped here).
        self.idle = asyncio.Event()
        self.idle.set()
        #: Called after each answer to the page: a reloaded page learns again what it shows.
        self.when_answered = when_answered

    @property
    def active(self) -> bool:
        return self._pc is not None

    async def answer(self, offer_sdp: str) -> str:
        """Answer the page's offer; returns the answer SDP (ICE candidates included)."""
        async with self._lock:
            await self._close_pc()
            # No ICE server: the page is on this machine. aiortc's default would ask Google's
            # public STUN server at every answer, telling a third party of each customer's check
            # and call, from the office's address.
            pc = RTCPeerConnection(rtc_configuration([]))
            self._pc = pc
            self.idle.clear()
            try:
                offer = RTCSessionDescription(sdp=without_mdns_candidates(offer_sdp), type="offer")
                await pc.setRemoteDescription(offer)
                video = [t for t in pc.getTransceivers() if t.kind == "video"]
                if not video:
                    raise CallError("the page offered no video to receive")
                # Camera tracks share their frames with the call, and every encoder rebases the
                # frame it encodes in place, in its own thread: two encoders of one shared frame
                # made the call's timestamps jump and its VP8 encoder die minutes into a call. The
                # page's encoder gets a private copy (rtc/videocopy.py).
                self._self_track = OwnVideoTrack(self._camera_track(), scale=self._self_view_scale)
                video[0].sender.replaceTrack(self._self_track)
                video[0].direction = "sendonly"
                slots = dict(zip(self._videos, video[1:]))
                for transceiver in slots.values():
                    # Send-only even without a track yet: replaceTrack later needs no renegotiation.
                    transceiver.direction = "sendonly"
                for extra in video[1 + len(self._videos):] + [t for t in pc.getTransceivers() if t.kind != "video"]:
                    extra.direction = "inactive"
                if self._codec:
                    self._prefer(video[:2], self._codec)
                await pc.setLocalDescription(await pc.createAnswer())
                for slot, transceiver in slots.items():  # now that each slot's codec is known
                    self._slots[slot] = SlotTrack()
                    transceiver.sender.replaceTrack(self._slots[slot])
                    self._mimes[slot] = sent_mime(pc, transceiver)
                    pass_keyframe_requests(transceiver.sender, lambda slot=slot: self._keyframe_wanted(slot))
                    self._set(slot, self._videos[slot], self._encoded[slot])
            except CallError:
                await self._close_pc()
                raise
            except Exception as exc:  # aiortc raises plain ValueErrors for bad SDP
                await self._close_pc()
                raise CallError(f"cannot answer the kiosk page's offer: {exc}") from None

            @pc.on("connectionstatechange")
            async def _state() -> None:
                log.info("loopback: %s", pc.connectionState)

            if self.when_answered is not None:
                self.when_answered()
            return pc.localDescription.sdp

    def set_remote_video(self, track: MediaStreamTrack | None, encoded: EncodedVideo | None = None) -> None:
        """Show ``track`` as the remote video (None: nothing). Survives a page reconnect.

        ``encoded``: the same video's encoded frames (rtc/forward.py), forwarded where they can be.
        """
        self._set("remote", track, encoded)

    def set_screen_video(self, track: MediaStreamTrack | None) -> None:
        """Show ``track`` as the advisor's shared screen (None: not sharing)."""
        self._set("screen", track)

    def set_peer_video(self, index: int, track: MediaStreamTrack | None, encoded: EncodedVideo | None = None) -> None:
        """Show ``track`` in the page's tile ``index`` (0 or 1) of further participants (``encoded``:
        as :meth:`set_remote_video`)."""
        if not 0 <= index < PEER_SLOTS:
            raise CallError(f"the kiosk page shows {PEER_SLOTS} further participants at most")
        self._set(f"peer{index}", track, encoded)

    def _set(self, slot: str, track: MediaStreamTrack | None, encoded: EncodedVideo | None = None) -> None:
        self._videos[slot], self._encoded[slot] = track, encoded
        sent = self._slots.get(slot)
        if sent is None:
            return
        self._forwarded.pop(slot, None)
        if track is None:
            sent.switch(None)
            return
        # Unbuffered: the page gets the newest frame. A queue in front of an encoder that falls
        # behind (a busy booth) only grew: the advisor's face reached the kiosk seconds late.
        shown = self._relay.subscribe(track, buffered=False)
        mime = self._mimes.get(slot)
        if self._forward and encoded is not None and mime in FORWARDABLE:
            shown = self._forwarded[slot] = encoded.subscribe(mime, shown)
        sent.switch(shown)

    def _self_view_scale(self) -> float:
        return SELF_VIEW_SCALE_IN_CALL if self._videos["remote"] is not None else 1.0

    def forwarded_frames(self, slot: str = "remote") -> int | None:
        """Frames ``slot`` forwarded still encoded to the current page connection; None: it re-encodes."""
        forwarded = self._forwarded.get(slot)
        return None if forwarded is None or forwarded.fell_back else forwarded.forwarded

    def _keyframe_wanted(self, slot: str) -> None:
        forwarded = self._forwarded.get(slot)
        if forwarded is not None:
            forwarded.keyframe_wanted()

    async def close(self) -> None:
        """Stop sending anything to the page (the camera stops streaming here)."""
        async with self._lock:
            await self._close_pc()

    async def _close_pc(self) -> None:
        pc, self._pc = self._pc, None
        for sent in self._slots.values():
            sent.stop()
        self._slots, self._forwarded = {}, {}
        track, self._self_track = self._self_track, None
        if track is not None:
            track.stop()
        if pc is not None:
            await pc.close()
        self.idle.set()

    @staticmethod
    def _prefer(transceivers, mime: str) -> None:
        prefer_codec(transceivers, mime)
