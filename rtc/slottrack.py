"""The one track a kiosk page's video slot is sent from, for as long as the page is connected.

aiortc's ``RTCRtpSender`` stops for good once its track ends, and a ``replaceTrack`` does not help
a sender still waiting on the old track. The advisor's video ends with every peer connection of
the call: a console reloaded mid-call makes the booth offer a new one, and the kiosk's picture of
the advisor froze for the rest of the call (seen in tests/e2e/test_call.py, re-encoded and
forwarded alike). So each slot's sender reads a :class:`SlotTrack`, whose source is switched as
the call's video comes and goes; when a source ends it waits for the next one.

Every frame (or forwarded packet, rtc/forward.py) leaves with a rising timestamp: the sender keeps
its encoder, and its receiver its decoder, across sources (rtc/timestamps.py).

Example::

    slot = SlotTrack()
    sender.replaceTrack(slot)         # once, at the page's answer
    slot.switch(advisor_track)        # the call's video; None: nothing; the old source is stopped
"""

from __future__ import annotations

import asyncio

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .timestamps import RisingTimestamps


class SlotTrack(MediaStreamTrack):
    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._source: MediaStreamTrack | None = None
        self._switched = asyncio.Event()
        self._stamps = RisingTimestamps()

    @property
    def source(self) -> MediaStreamTrack | None:
        return self._source

    def switch(self, source: MediaStreamTrack | None) -> None:
        old, self._source = self._source, source
        self._switched.set()
        if old is not None and old is not source:
            old.stop()

    async def recv(self):
        while self.readyState == "live":
            source = self._source
            self._switched.clear()
            if source is None:
                await self._switched.wait()
                continue
            frame = asyncio.ensure_future(source.recv())
            switched = asyncio.ensure_future(self._switched.wait())
            try:
                await asyncio.wait((frame, switched), return_when=asyncio.FIRST_COMPLETED)
            finally:
                switched.cancel()
            if not frame.done():
                frame.cancel()  # switched meanwhile: the new source's frames from now on
                continue
            try:
                return self._stamps.apply(frame.result())
            except MediaStreamError:
                if self._source is source:
                    self._source = None  # that call's video ended: wait for the next
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self.switch(None)
        self._switched.set()
