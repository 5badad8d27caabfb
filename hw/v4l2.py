"""USB (UVC) webcams through V4L2, read by PyAV via aiortc's MediaPlayer.

When the camera offers H.264 itself, the encoded packets go to aiortc as they are (``decode=False``:
no decode, no re-encode; ``passthrough_codec`` becomes "video/H264"). Otherwise frames are decoded
(MJPEG or raw YUYV) and aiortc encodes them in software at the configured size and frame rate.

Example::

    cam = V4l2Camera("/dev/v4l/by-id/usb-Logitech_C920-video-index0", width=640, height=480, fps=30)
    track = cam.video_track()
    cam.passthrough_codec   # "video/H264" if the webcam encodes, else None
"""

from __future__ import annotations

import logging
import os

import av
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamTrack

from .camera import SupervisedCamera
from .errors import DeviceUnavailable

log = logging.getLogger(__name__)

H264 = "video/H264"


class V4l2Camera(SupervisedCamera):
    """A V4L2 capture device; ``prefer_h264=False`` forces software encoding."""

    def __init__(self, *args, prefer_h264: bool = True, **kwargs) -> None:
        """Arguments as :class:`~hw.camera.SupervisedCamera`.

        Whether the camera encodes H.264 is asked once, here, so ``passthrough_codec`` is known
        before any peer connection is negotiated (a camera absent now is used without passthrough).
        """
        super().__init__(*args, **kwargs)
        if prefer_h264 and self._offers("h264"):
            self.passthrough_codec = H264

    def _offers(self, input_format: str) -> bool:
        if not os.path.exists(self.device):
            return False
        try:
            av.open(self.device, format="v4l2", options=self._options(input_format)).close()
        except (av.FFmpegError, OSError, ValueError):
            return False
        return True

    def _options(self, input_format: str | None) -> dict[str, str]:
        options = {"video_size": f"{self.width}x{self.height}", "framerate": str(self.fps)}
        if input_format:
            options["input_format"] = input_format
        return options

    def _open_source(self) -> MediaStreamTrack:
        if not os.path.exists(self.device):
            raise DeviceUnavailable("camera", self.device, "no such device")
        # Try the cheapest first: H.264 from the camera (passthrough), then MJPEG (small over USB,
        # cheap to decode), then whatever the driver gives.
        attempts: list[tuple[str | None, bool]] = [("mjpeg", True), (None, True)]
        if self.passthrough_codec == H264:
            attempts.insert(0, ("h264", False))
        last_error = "no usable format"
        for input_format, decode in attempts:
            try:
                player = MediaPlayer(self.device, format="v4l2", options=self._options(input_format), decode=decode)
            except (av.FFmpegError, OSError, ValueError) as exc:
                last_error = str(exc)
                continue
            if player.video is None:
                last_error = "no video stream"
                continue
            log.info("camera %s opened as %s (%s)", self.device, input_format or "native",
                     "passthrough" if not decode else "software encode")  # fmt: skip
            return player.video
        raise DeviceUnavailable("camera", self.device, last_error)
