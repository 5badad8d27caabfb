"""One device source, many readers, each holding at most ``keep`` of the source's items.

A device is read by one task, and every reader (the kiosk preview, the call, a peer link, the
level meter) gets each item through a queue of its own. aiortc's ``MediaRelay`` offers two kinds of
reader, neither right for a microphone:

- one that keeps only the latest item lost a 20 ms frame of the customer's voice each time the
  booth's event loop was one frame late: a gap in the voice, and the call's audio timestamps (a
  running sample count) fell 20 ms further behind the wall clock each time, for good (issue 20: a
  probe on the booth's sender saw three such steps in a 13-second call of ``make bench``);
- one that keeps every item grows without end behind a reader that stopped reading but was not
  stopped (a level meter whose screen is gone).

So each reader keeps at most ``keep`` items and drops the oldest beyond that; ``keep=None`` keeps
all (encoded video: a dropped packet breaks the picture until the next keyframe; a measurement).
A source that fails hands its error to every reader at once, so a driver's error reaches the
device's supervisor without waiting for a stall timeout.

Example::

    >>> import asyncio
    >>> from hw.tone import ToneTrack
    >>> async def demo():
    ...     relay, mic = Relay(), ToneTrack(440, -20)
    ...     call, meter = relay.subscribe(mic, keep=10), relay.subscribe(mic, keep=1)
    ...     first = await call.recv()
    ...     await asyncio.sleep(0.1)     # the call's reader is late by five frames
    ...     late = [await call.recv() for _ in range(5)]
    ...     call.stop(), meter.stop(), mic.stop()
    ...     return [f.pts - first.pts for f in late]
    >>> asyncio.run(demo())
    [960, 1920, 2880, 3840, 4800]
"""

from __future__ import annotations

import asyncio
import collections

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack


class _Ended:
    """What a reader finds after the source's last item: why it ended."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class RelayedTrack(MediaStreamTrack):
    """One reader's view of a relayed source (made by :meth:`Relay.subscribe`)."""

    def __init__(self, relay: Relay, source: MediaStreamTrack, keep: int | None) -> None:
        super().__init__()
        self.kind = source.kind
        self.source = source
        self._relay: Relay | None = relay
        self._items: collections.deque = collections.deque(maxlen=keep)
        self._arrived = asyncio.Event()

    def put(self, item) -> None:
        self._items.append(item)
        self._arrived.set()

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self._relay is not None:
            self._relay.start(self)
        while not self._items:
            self._arrived.clear()
            await self._arrived.wait()
        item = self._items.popleft()
        if isinstance(item, _Ended):
            self.stop()  # later reads find the track ended (MediaStreamError)
            raise item.error
        return item

    def stop(self) -> None:
        super().stop()
        if self._relay is not None:
            self._relay.stop(self)
            self._relay = None


class Relay:
    """Reads each subscribed source once, for all its readers; see the module docstring."""

    def __init__(self) -> None:
        self._readers: dict[MediaStreamTrack, set[RelayedTrack]] = {}
        self._tasks: dict[MediaStreamTrack, asyncio.Future] = {}

    def subscribe(self, source: MediaStreamTrack, keep: int | None, now: bool = False) -> RelayedTrack:
        """A new reader of ``source``; it starts receiving at its first ``recv()``, or at once if
        ``now`` (inside a running event loop).

        ``now`` is for a picture: the call's camera track is made at the admit, but aiortc reads it
        only once the connection is up, some 70 ms later. Read from the admit, the camera is open
        and its latest frame at hand by then (a V4L2 camera takes far longer than that for its
        first frame); read from the first ``recv()``, the first frame waits for all of that.
        """
        reader = RelayedTrack(self, source, keep)
        if now and _loop_running():
            self.start(reader)
        return reader

    def start(self, reader: RelayedTrack) -> None:
        self._readers.setdefault(reader.source, set()).add(reader)
        if reader.source not in self._tasks:
            self._tasks[reader.source] = asyncio.ensure_future(self._run(reader.source))

    def stop(self, reader: RelayedTrack) -> None:
        self._readers.get(reader.source, set()).discard(reader)

    async def _run(self, source: MediaStreamTrack) -> None:
        try:
            while True:
                try:
                    item = await source.recv()
                except Exception as exc:  # noqa: BLE001 -- MediaStreamError at the end, or the driver's own error
                    item = _Ended(exc)
                for reader in list(self._readers.get(source, ())):
                    reader.put(item)
                if isinstance(item, _Ended):
                    return
        finally:
            self._readers.pop(source, None)
            self._tasks.pop(source, None)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
