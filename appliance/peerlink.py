"""The booth in a small group call: one more peer connection per further participant.

In an appointment with an interpreter (or a legal representative ...) joining from home, the hub
links the participants to each other with *peer links* (hub/groupcall.py): each has its own call
id, and the hub relays its offer/answer/candidates like the call's. The booth's call with the
advisor stays :class:`~appliance.call.BoothCall`; :class:`PeerLinks` holds the links next to it:

- a link is built only once the hub says so: ``admitted`` for a link (the booth is the newcomer
  and offers) or a link's ``offer`` (the other was first; the booth answers), and only while the
  booth's customer is in the call: in the waiting room nothing is transmitted, no link exists;
- each link is an aiortc peer connection fed from the same devices as the call: a camera track on
  the camera's one timeline (hw ``VideoTimeline``: no track has a clock of its own) and a private
  copy of every microphone frame (:class:`~rtc.audiocopy.OwnAudioTrack`), silent while muted;
- the participant's voice joins the advisor's on the speaker (:class:`~rtc.audiomix.MixingSpeaker`)
  and their picture goes to the kiosk page's tile for further participants, still encoded (rtc/forward.py)
  (:meth:`~rtc.loopback.Loopback.set_peer_video`); the page is told the tile's role (a
  ``peers`` message), never a name, for there is none to tell;
- a link ends when the hub ends it (``call_ended``: the other left), when its media path fails
  (the booth hangs up), or when the booth's call ends. The call with the advisor goes on without it.

Example::

    links = PeerLinks(link, camera, microphone, MixingSpeaker(speaker), loopback,
                      in_call=lambda: session.state is State.CALL, muted=lambda: call.muted)
    link.on_peer_message(links.route)    # the hub link hands it every message first
    session.subscribe(links.follow)      # the booth's call is over: so are the links
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from hw.base import Camera, Microphone
from rtc import protocol as p
from rtc.audiocopy import OwnAudioTrack
from rtc.audiomix import MixingSpeaker
from rtc.forward import EncodedTaps, tap_encoded_video
from rtc.jitter import use_prompt_audio_jitter_buffer
from rtc.loopback import PEER_SLOTS
from rtc.peerconnection import RemoteCandidates, rtc_configuration, show_remote_video
from rtc.videocopy import OwnVideoTrack

log = logging.getLogger("videokiosk.peerlink")


class PeerLink:
    """One link to another participant of the appointment: its own peer connection."""

    def __init__(self, call_id: str, role: str | None, slot: int, owner: "PeerLinks",
                 servers: list[p.IceServer]) -> None:
        self.call_id, self.role, self.slot = call_id, role, slot
        self._owner = owner
        self.lock = asyncio.Lock()  # the link's messages are handled one at a time, in order
        self.pc = RTCPeerConnection(rtc_configuration(servers))
        # Private copies of the devices' frames: the call's tracks rewrite the shared ones' timestamps.
        self._tracks: list[MediaStreamTrack] = [OwnVideoTrack(owner.camera.video_track()),
                                                OwnAudioTrack(owner.microphone.audio_track(), owner.muted)]
        self._voice: MediaStreamTrack | None = None
        self._watcher: asyncio.Task | None = None
        self._encoded: EncodedTaps | None = None  # the participant's encoded video, for the kiosk tile
        self._candidates = RemoteCandidates(self.pc)
        self.closed = False
        #: Frames decoded from the participant's camera (memory only) and when the first came.
        self.remote_frames = 0
        self.last_remote_frame = None
        self.first_frame = asyncio.Event()
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    def _add_tracks(self) -> None:
        for track in self._tracks:
            self.pc.addTrack(track)

    async def offer(self) -> None:
        self._add_tracks()
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self._owner.send(p.Offer(call_id=self.call_id, sdp=self.pc.localDescription.sdp))

    async def answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        # Only now: tracks added before would be transceivers in our order, and where it differs
        # from the offer's (a browser offers audio first) aiortc bundles onto a transport that
        # never gathers a candidate, and the link stays "new" for good.
        self._add_tracks()
        await self._candidates.described()
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self._owner.send(p.Answer(call_id=self.call_id, sdp=self.pc.localDescription.sdp))

    async def answered(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        await self._candidates.described()

    async def candidate(self, msg: p.Candidate) -> None:
        await self._candidates.add(msg)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if self._encoded is None:
            # The receivers exist now, and no packet can have come yet (the media path needs this
            # description first): the call's jitter buffers (rtc/jitter.py), and the participant's
            # picture to the kiosk tile still encoded (rtc/forward.py), as the advisor's.
            self._encoded = tap_encoded_video(self.pc)
            use_prompt_audio_jitter_buffer(self.pc)
        if track.kind == "audio":
            self._voice = track
            asyncio.ensure_future(self._owner.speaker.add(track))
            return
        show = functools.partial(self._owner.loopback.set_peer_video, self.slot)
        self._watcher = show_remote_video(track, show, self._remote_frame, self._encoded.for_track(track))

    def _remote_frame(self, frame) -> None:
        """A frame of the participant's video, decoded (None: forwarded to the page undecoded):
        note that frames arrive."""
        self.remote_frames += 1
        if frame is not None:
            self.last_remote_frame = frame
            self.first_frame.set()

    def _on_state(self) -> None:
        log.info("peer link %s: %s", self.call_id, self.pc.connectionState)
        if self.pc.connectionState == "failed" and not self.closed:
            # The media path died: tell the hub, which ends the link at both ends.
            asyncio.ensure_future(self._owner.hang_up(self.call_id))

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._owner.loopback.set_peer_video(self.slot, None)
        if self._encoded is not None:
            self._encoded.close()
        if self._voice is not None:
            await self._owner.speaker.discard(self._voice)
        if self._watcher is not None:
            self._watcher.cancel()
        for track in self._tracks:
            track.stop()
        await self.pc.close()


class PeerLinks:
    """The booth's peer links of the current call, built and ended as the hub says."""

    def __init__(
        self,
        link: Any,
        camera: Camera,
        microphone: Microphone,
        speaker: MixingSpeaker,
        loopback: Any,
        *,
        in_call: Callable[[], bool],
        muted: Callable[[], bool] = lambda: False,
        broadcast: Callable[[dict[str, Any]], None] | None = None,
        joined: Callable[[str], None] = lambda role: None,
    ) -> None:
        """``joined(role)``: a further participant joined the booth's call (the daemon stores the
        role with the customer's session, as the consent text says: never a name, there is none)."""
        self._link = link  # appliance.hublink.HubConnection: call_id, ice_servers, send()
        self.camera, self.microphone, self.speaker, self.loopback = camera, microphone, speaker, loopback
        self._in_call = in_call
        self._joined = joined
        self.muted = muted
        self._broadcast = broadcast
        self.links: dict[str, PeerLink] = {}
        self.changed = asyncio.Event()  # set whenever a link comes or goes (tests wait on it)

    async def send(self, msg: p.Message) -> None:
        await self._link.send(msg)

    def peers_message(self) -> dict[str, Any]:
        """The kiosk page's ``peers`` message: which tile shows whom (by role)."""
        return {"type": "peers", "peers": [{"slot": k.slot, "role": k.role} for k in self.links.values()]}

    def tell_page(self) -> None:
        if self._broadcast is not None:
            self._broadcast(self.peers_message())

    # --- what the hub link hands over ---------------------------------------------------------

    async def route(self, msg: p.Message) -> bool:
        """Handle ``msg`` if it concerns a peer link (True); the hub link handles the rest."""
        call_id = getattr(msg, "call_id", None)
        if not isinstance(call_id, str):
            return False
        known = self.links.get(call_id)
        if known is not None and isinstance(msg, (p.Answer, p.Candidate, p.CallEnded)):
            asyncio.ensure_future(self._in_order(known, msg))
            return True
        # A link the hub starts: only while the booth is in a call, never for the call itself.
        starts_link = isinstance(msg, (p.Admitted, p.Offer)) and known is None
        if not starts_link or self._link.call_id is None or call_id == self._link.call_id:
            return False
        if not self._in_call() or len(self.links) >= PEER_SLOTS:
            log.info("peer link %s refused: %s", call_id, "no call" if not self._in_call() else "no free tile")
            await self.hang_up(call_id)
            return True
        servers = list(msg.ice_servers) if isinstance(msg, p.Admitted) else list(self._link.ice_servers)
        slot = min(set(range(PEER_SLOTS)) - {k.slot for k in self.links.values()})
        new = self.links[call_id] = PeerLink(call_id, msg.role, slot, self, servers)
        log.info("peer link %s: %s (%s)", call_id, "offering" if isinstance(msg, p.Admitted) else "answering", msg.role)
        if msg.role not in (None, "customer"):
            self._joined(msg.role)
        self._changed()
        asyncio.ensure_future(self._in_order(new, msg))
        return True

    async def _in_order(self, link: PeerLink, msg: p.Message) -> None:
        async with link.lock:
            if link.closed:
                return
            try:
                match msg:
                    case p.Admitted():
                        await link.offer()
                    case p.Offer(sdp=sdp):
                        await link.answer(sdp)
                    case p.Answer(sdp=sdp):
                        await link.answered(sdp)
                    case p.Candidate():
                        await link.candidate(msg)
                    case p.CallEnded():
                        await self._end(link)
            except Exception as exc:  # a broken description ends this link, never the call
                log.warning("peer link %s: %s failed (%s: %s); hanging up", link.call_id, msg.type, type(exc).__name__, exc)
                await self.hang_up(link.call_id)

    async def hang_up(self, call_id: str) -> None:
        link = self.links.get(call_id)
        if link is not None:
            await self._end(link)
        await self.send(p.Hangup(call_id=call_id, reason="ended"))

    async def _end(self, link: PeerLink) -> None:
        known = self.links.get(link.call_id) is link
        if known:
            del self.links[link.call_id]
        await link.close()
        if known:
            self._changed()  # once tile, voice and connection are gone: the page is told the truth
        log.info("peer link %s: ended", link.call_id)

    def follow(self, snapshot: dict[str, Any]) -> None:
        """A session subscriber: once the booth's customer is out of the call, so are the links."""
        if snapshot["state"] != "call" and self.links:
            asyncio.ensure_future(self.close_all())

    async def close_all(self) -> None:
        """The booth's call is over: every link with it (the hub ends them on its side too)."""
        for link in list(self.links.values()):
            await self._end(link)

    def _changed(self) -> None:
        self.tell_page()
        self.changed.set()

