"""The booth's receiving end of the advisor's screen sharing: a second video track.

The booth offers one extra receive-only video transceiver in every call. The advisor's Chromium
answers it send-only with no track, and when the advisor shares, puts the ``getDisplayMedia``
track on it with ``replaceTrack``: no renegotiation round trip, and it survives the booth's fresh
offer after a reconnect the same way the camera does. Whether sharing is on comes as a
:class:`rtc.protocol.ScreenShare` message (rtc/chat.py); frames alone cannot say "stopped".
The booth never sends a screen of its own: the transceiver is receive-only.

Example::

    screen = ScreenReceiver(on_track=loopback.set_screen_video)
    screen.attach(pc)                  # before the offer
    if screen.claims(track): ...       # in the peer connection's "track" handler
    screen.set_sharing(True)           # the advisor said so; the track goes to on_track
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack


class ScreenReceiver:
    def __init__(self, on_track: Callable[[MediaStreamTrack | None], None] = lambda track: None) -> None:
        self._on_track = on_track
        self._transceiver = None
        self._relay: MediaRelay | None = None
        self._track: MediaStreamTrack | None = None
        self._drain: asyncio.Task | None = None
        self.sharing = False
        #: Frames of the shared screen decoded on the booth (a technician's and a test's view).
        self.frames = 0
        self.frame_arrived = asyncio.Event()

    def attach(self, pc) -> None:
        self.detach()
        self._transceiver = pc.addTransceiver("video", direction="recvonly")

    def claims(self, track: MediaStreamTrack) -> bool:
        """True (and keeps it) if ``track`` is the shared screen, not the advisor's camera."""
        if self._transceiver is None or self._transceiver.receiver.track is not track:
            return False
        self._relay = MediaRelay()
        self._track = track
        self._drain = asyncio.ensure_future(self._count(self._relay.subscribe(track, buffered=False)))
        self._show()
        return True

    def set_sharing(self, sharing: bool) -> None:
        self.sharing = sharing
        self._show()

    def detach(self) -> None:
        if self._drain is not None:
            self._drain.cancel()
        self._transceiver = self._relay = self._track = self._drain = None
        self._on_track(None)

    def _show(self) -> None:
        if self.sharing and self._track is not None and self._relay is not None:
            self._on_track(self._relay.subscribe(self._track))
        else:
            self._on_track(None)

    async def _count(self, track: MediaStreamTrack) -> None:
        # Also drains the track, so nothing queues up while no page shows it.
        try:
            while True:
                await track.recv()
                self.frames += 1
                self.frame_arrived.set()
        except MediaStreamError:
            return
