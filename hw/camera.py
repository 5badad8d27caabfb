"""What every camera driver shares: size, frame rate, hot-plug recovery, a placeholder picture.

A driver subclasses :class:`SupervisedCamera`, implements ``_open_source()`` (see
:mod:`hw.supervised`), and sets ``passthrough_codec`` to "video/H264" when its track yields
pre-encoded ``av.Packet`` objects (handed out by ``video_track(encoded=True)``). It is fixed when the camera is built, so the peer connection can
prefer H.264 before the device opens; a track may still carry plain frames (the "camera unavailable"
picture, a replugged camera that cannot encode), which aiortc encodes under any codec.

Example::

    class MyCamera(SupervisedCamera):
        def _open_source(self):
            return MyTrack(self.width, self.height, self.fps)

    track = MyCamera(width=640, height=480, fps=25).video_track()
"""

from __future__ import annotations

import os

from aiortc.mediastreams import MediaStreamTrack

from .base import HotplugEvent, HotplugSource
from .supervised import SupervisedSource
from .switchable import unavailable_picture


class SupervisedCamera(SupervisedSource):
    passthrough_codec: str | None = None
    kind = "video"
    subsystem = "video4linux"
    role = "camera"

    def __init__(
        self,
        device: str = "/dev/video0",
        width: int = 640,
        height: int = 480,
        fps: int = 25,
        hotplug: HotplugSource | None = None,
    ) -> None:
        self.width, self.height, self.fps = width, height, fps
        self._node = os.path.realpath(device)
        super().__init__(device, unavailable_picture(width, height), fps, hotplug)

    def video_track(self, encoded: bool = False) -> MediaStreamTrack:
        """A new live track of this camera (survives unplug/replug); stop it when done.

        Frames by default. ``encoded=True`` passes a passthrough camera's ``av.Packet`` objects on
        untouched: only for a peer connection that negotiates ``passthrough_codec``, since any
        other encoder would be handed H.264 it cannot use.
        """
        return self._new_track(encoded)

    def _matches(self, event: HotplugEvent) -> bool:
        if event.subsystem != self.subsystem or event.device_node is None:
            return False
        # A stable /dev/v4l/by-id/... path points at whichever /dev/videoN the camera got this time;
        # after a removal the link is gone, so remember where it pointed when it was opened.
        return event.device_node in (self.device, os.path.realpath(self.device), self._node)

    def _try_open(self) -> None:
        self._node = os.path.realpath(self.device)
        super()._try_open()
