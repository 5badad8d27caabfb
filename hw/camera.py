"""The camera every driver shares: one device source, many live tracks, hot-plug recovery.

A driver subclasses :class:`SupervisedCamera` and implements ``_open_source()``, which opens the
device and returns a raw track (or raises :class:`~hw.errors.DeviceUnavailable`). This class:

- hands out :class:`~hw.switchable.SwitchableTrack` objects fed from that one source through an
  aiortc ``MediaRelay`` (the kiosk preview and the call can both watch the camera);
- on a hot-plug "remove" of its device node, or when the source stops delivering, marks itself
  unhealthy, tells listeners, and shows the "camera unavailable" picture on every track;
- on "add" (or :meth:`recover`), reopens the device and swaps the new source into every track, so
  a call in progress continues with the same ``MediaStreamTrack``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from .base import HealthListener, HotplugEvent, HotplugSource
from .errors import DeviceUnavailable
from .health import Health
from .switchable import SwitchableTrack, unavailable_picture

log = logging.getLogger(__name__)

HINT_UNPLUGGED = "check.camera.unplugged"
HINT_RECOVERED = "check.camera.recovered"


class SupervisedCamera:
    """Base class of every camera driver; see the module docstring."""

    passthrough_codec: str | None = None
    #: the hot-plug subsystem whose events concern this device
    subsystem = "video4linux"

    def __init__(
        self,
        device: str = "/dev/video0",
        width: int = 640,
        height: int = 480,
        fps: int = 25,
        hotplug: HotplugSource | None = None,
    ) -> None:
        self.device = device
        self.width, self.height, self.fps = width, height, fps
        self._health = Health("camera", healthy=True)  # until an open fails
        self._relay = MediaRelay()
        self._source: MediaStreamTrack | None = None
        self._tracks: list[SwitchableTrack] = []
        self._placeholder = unavailable_picture(width, height)
        self._unsubscribe = hotplug.subscribe(self._on_hotplug) if hotplug is not None else None
        self._closed = False
        self._recover_probe = False

    # --- what drivers implement -------------------------------------------------------------
    def _open_source(self) -> MediaStreamTrack:
        raise NotImplementedError

    def _matches(self, event: HotplugEvent) -> bool:
        return event.subsystem == self.subsystem and event.device_node == self.device

    # --- the Camera protocol ----------------------------------------------------------------
    @property
    def healthy(self) -> bool:
        return self._health.healthy

    def on_change(self, listener: HealthListener) -> Callable[[], None]:
        return self._health.subscribe(listener)

    def video_track(self) -> MediaStreamTrack:
        """A new live track of this camera; stop it when done. Opens the device on first use."""
        if self._source is None and not self._closed:
            self._try_open()
        track = SwitchableTrack(
            "video",
            self._placeholder,
            fps=self.fps,
            on_source_failed=self._source_failed,
            on_stop=self._forget,
        )
        if self._source is not None:
            track.set_source(self._relay.subscribe(self._source, buffered=False))
        self._tracks.append(track)
        return track

    async def close(self) -> None:
        self._closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
        for track in list(self._tracks):
            track.stop()
        self._drop_source()

    # --- hot-plug ---------------------------------------------------------------------------
    def recover(self) -> bool:
        """Try to (re)open the device now; True when it is delivering again."""
        if self._closed:
            return False
        if self._source is not None:
            return True
        self._recover_probe = True
        try:
            self._try_open()
        finally:
            self._recover_probe = False
        return self._health.healthy

    def unplugged(self, reason: str = "unplugged") -> None:
        """The device is gone: placeholder on every track, listeners told."""
        self._drop_source()
        for track in self._tracks:
            track.set_source(None)
        self._health.set(False, f"camera {self.device}: {reason}", HINT_UNPLUGGED)

    def _on_hotplug(self, event: HotplugEvent) -> None:
        if self._closed or not self._matches(event):
            return
        if event.action == "remove":
            self.unplugged()
        elif event.action == "add":
            self.recover()

    def _source_failed(self, reason: str) -> None:
        # Called by a track whose read failed: the device probably vanished before udev said so.
        if self._source is not None:
            self.unplugged(reason)

    def _try_open(self) -> None:
        try:
            source = self._open_source()
        except DeviceUnavailable as exc:
            self._health.set(False, str(exc), HINT_UNPLUGGED)
            return
        self._source = source
        for track in self._tracks:
            track.set_source(self._relay.subscribe(source, buffered=False))
        self._health.set(True, f"camera {self.device}: delivering", HINT_RECOVERED)
        if not self._tracks and self._recover_probe:
            self._drop_source()  # a replug while nobody watches: the probe proved it works

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
