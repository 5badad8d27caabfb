"""A capture device that survives hot-plug: one device source, many live tracks, self-recovery.

A driver subclasses :class:`SupervisedSource` (through :class:`hw.camera.SupervisedCamera` or
:class:`hw.alsa.AlsaMicrophone`) and implements ``_open_source()``, which opens the device and
returns a raw aiortc track, or raises :class:`~hw.errors.DeviceUnavailable`. This class:

- hands out :class:`~hw.switchable.SwitchableTrack` objects fed from that one source through a
  :class:`~hw.relay.Relay` (the kiosk preview and the call can both watch the camera), and releases the
  device when the last track stops (a camera that nobody watches is off);
- on a hot-plug "remove" of its device, or when the source stops delivering, marks itself unhealthy,
  tells listeners, and puts the placeholder (picture or silence) on every track;
- on "add" (or :meth:`recover`), reopens the device, retrying briefly because udev announces a node
  before its permissions are set, and swaps the new source into every track, so a call in progress
  continues with the same ``MediaStreamTrack``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import av
from aiortc.mediastreams import MediaStreamTrack

from .base import HealthListener, HotplugEvent, HotplugSource
from .errors import DeviceUnavailable
from .health import Health
from .relay import Relay
from .switchable import AUDIO_PTIME, DecodedTrack, SwitchableTrack, VideoTimeline

log = logging.getLogger(__name__)

# After an "add" event: retry opening at these delays (s) until the device answers.
RECOVER_RETRIES_S = (0.5, 1.0, 2.0, 4.0)
# ... and after those, this often for as long as it is missing.
POLL_S = 5.0
# A reader of raw audio that lags keeps this much rather than lose a frame (a gap in the voice);
# beyond it the oldest go, so a reader that stopped reading holds no more. The booth's event loop
# was seen late by up to 80 ms in a call on a busy machine (make bench).
AUDIO_BACKLOG_S = 0.2


class SupervisedSource:
    """Base class of every capture driver; see the module docstring."""

    kind = "video"
    #: the hot-plug subsystem whose events concern this device
    subsystem = "video4linux"
    #: "camera" | "microphone": the name in health changes and hint keys
    role = "camera"
    #: the translation key a health change carries when the device goes away
    unplugged_hint = "check.camera.unplugged"

    def __init__(self, device: str, placeholder: av.VideoFrame | av.AudioFrame, fps: float, hotplug: HotplugSource | None) -> None:
        self.device = device
        self._fps = fps
        self._placeholder = placeholder
        self._health = Health(self.role, healthy=True)  # until an open fails
        self._relay = Relay()
        self._source: MediaStreamTrack | None = None
        self._tracks: list[SwitchableTrack] = []
        self._timeline = VideoTimeline()
        self._unsubscribe = hotplug.subscribe(self._on_hotplug) if hotplug is not None else None
        self._closed = False
        self._retry: asyncio.TimerHandle | None = None
        self._attempt = 0  # index into RECOVER_RETRIES_S for the next retry

    # --- what drivers implement -------------------------------------------------------------
    def _open_source(self) -> MediaStreamTrack:
        raise NotImplementedError

    def _matches(self, event: HotplugEvent) -> bool:
        return event.subsystem == self.subsystem and event.device_node == self.device

    # --- the device protocol ----------------------------------------------------------------
    @property
    def healthy(self) -> bool:
        return self._health.healthy

    def on_change(self, listener: HealthListener) -> Callable[[], None]:
        return self._health.subscribe(listener)

    def _new_track(self, encoded: bool = False, every_frame: bool = False) -> MediaStreamTrack:
        """A new live track of this device; stop it when done. Opens the device on first use.

        A source of pre-encoded packets is decoded to frames unless ``encoded=True``. A consumer
        that lags loses raw frames unless ``every_frame=True`` (a measurement, not a live view).
        """
        if self._source is None and not self._closed:
            self._try_open()
        track = SwitchableTrack(
            self.kind, self._placeholder, fps=self._fps, on_source_failed=self._source_failed, on_stop=self._forget,
            timeline=self._timeline, encoded=encoded, every_frame=every_frame,
        )
        if self._source is not None:
            track.set_source(self._feed(track))
        self._tracks.append(track)
        return track

    def _feed(self, track: SwitchableTrack) -> MediaStreamTrack:
        """This track's own view of the current source."""
        assert self._source is not None
        # Encoded packets must all arrive (a dropped one breaks the picture until the next
        # keyframe), and a consumer that measures gets every frame (the device check's
        # microphone). A lagging consumer of raw video is better shown the latest picture than
        # queued ones; of raw audio, it catches up on a short backlog, as a sound card's buffer does.
        encoded = getattr(self, "passthrough_codec", None) is not None
        if encoded or track.every_frame:
            keep = None
        else:
            keep = round(AUDIO_BACKLOG_S / AUDIO_PTIME) if self.kind == "audio" else 1
        # A view of live video (the call's, made at the admit) reads the camera from now on: its
        # first frame is at hand when the connection is up (hw/relay.py).
        proxy = self._relay.subscribe(self._source, keep=keep, now=self.kind == "video" and keep == 1)
        if encoded and not track.encoded:
            return DecodedTrack(proxy)
        return proxy

    async def close(self) -> None:
        self._closed = True
        self._cancel_retry()
        if self._unsubscribe is not None:
            self._unsubscribe()
        for track in list(self._tracks):
            track.stop()
        self._drop_source()

    # --- hot-plug ---------------------------------------------------------------------------
    def recover(self) -> bool:
        """Try to (re)open the device now; True when it works again.

        With nobody watching, the device is opened only to prove it works, then released.
        """
        if self._closed:
            return False
        if self._source is None:
            self._try_open()
            if not self._tracks:
                self._drop_source()
        return self._health.healthy

    def unplugged(self, reason: str = "unplugged") -> None:
        """The device is gone: placeholder on every track, listeners told, retries scheduled."""
        self._drop_source()
        for track in self._tracks:
            track.set_source(None)
        self._health.set(False, f"{self.role} {self.device}: {reason}", self.unplugged_hint)
        self._schedule_retry()

    def _on_hotplug(self, event: HotplugEvent) -> None:
        if self._closed or not self._matches(event):
            return
        if event.action == "remove":
            self._cancel_retry()
            self.unplugged()
        elif event.action == "add":
            self._cancel_retry()
            self._attempt = 0  # a fresh device: quick retries again
            self.recover()

    def _schedule_retry(self) -> None:
        # Quick retries first (udev announces a node before it can be opened), then a slow poll
        # for as long as the device is missing: without udev (hotplug "none", a container) polling
        # is the only way back.
        if self._closed or self._retry is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        delay = RECOVER_RETRIES_S[self._attempt] if self._attempt < len(RECOVER_RETRIES_S) else POLL_S
        self._attempt += 1
        self._retry = loop.call_later(delay, self._retry_now)

    def _retry_now(self) -> None:
        self._retry = None
        self.recover()  # a failure schedules the next try

    def _cancel_retry(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None

    def _source_failed(self, reason: str) -> None:
        # A track's read failed: the device probably vanished before udev said so.
        if self._source is not None:
            self.unplugged(reason)

    def _try_open(self) -> None:
        try:
            source = self._open_source()
        except DeviceUnavailable as exc:
            self._health.set(False, str(exc), f"check.{self.role}.unavailable")
            self._schedule_retry()
            return
        self._attempt = 0
        self._source = source
        for track in self._tracks:
            track.set_source(self._feed(track))
        self._health.set(True, f"{self.role} {self.device}: delivering", f"check.{self.role}.recovered")

    def _drop_source(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            source.stop()

    def _forget(self, track: SwitchableTrack) -> None:
        if track in self._tracks:
            self._tracks.remove(track)
        if not self._tracks:
            # Nobody watches: release the device (and its "camera on" light) until asked again.
            self._drop_source()
