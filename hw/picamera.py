"""The Raspberry Pi camera through picamera2 (imported lazily: it comes from the OS image's
``python3-picamera2`` on a Pi and is never required elsewhere).

Where the Pi has a hardware H.264 encoder (Pi 4 and earlier: the ``bcm2835-codec`` encoder node), the
encoder's output goes to aiortc as ``av.Packet`` objects, with no decode and no re-encode
(``passthrough_codec`` = "video/H264"). A Pi 5 has no H.264 encoder: there frames are captured as
YUV420 and aiortc encodes them in software at the configured (modest) size and frame rate.

Example::

    cam = PiCamera(width=640, height=480, fps=25)
    pc.addTrack(cam.video_track())
"""

from __future__ import annotations

import asyncio
import fractions
import glob
import logging

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from .base import HotplugEvent
from .camera import SupervisedCamera
from .errors import DeviceUnavailable, DriverMissing

log = logging.getLogger(__name__)

H264 = "video/H264"
MICROSECONDS = fractions.Fraction(1, 1_000_000)
BITRATE = 1_500_000
# Packets waiting for aiortc; beyond this the sender is stuck and old video is worthless.
MAX_QUEUED = 60


def _picamera2():
    try:
        import picamera2
    except ImportError:
        raise DriverMissing(
            "picamera2", "picamera2",
            "On a Raspberry Pi install python3-picamera2 and make the venv with --system-site-packages; "
            "elsewhere set hardware.camera = \"v4l2\" or \"fake\".",
        ) from None  # fmt: skip
    return picamera2


def has_hardware_h264() -> bool:
    """True on a Pi with the V4L2 memory-to-memory H.264 encoder (Pi 4 and earlier; not Pi 5)."""
    for name_file in glob.glob("/sys/class/video4linux/video*/name"):
        try:
            with open(name_file) as f:
                if "codec-encode" in f.read():  # "bcm2835-codec-encode"
                    return True
        except OSError:
            continue
    return False


class _H264Track(MediaStreamTrack):
    """Encoded frames from picamera2's H264Encoder, as ``av.Packet`` with microsecond timestamps."""

    kind = "video"

    def __init__(self, camera, width: int, height: int, fps: int) -> None:
        super().__init__()
        from picamera2.encoders import H264Encoder
        from picamera2.outputs import Output

        loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple[bytes, int] | None] = asyncio.Queue()
        self._camera = camera
        queue = self._queue

        def deliver(item):
            if item is not None and queue.qsize() >= MAX_QUEUED:
                return  # the sender fell behind: drop rather than grow without bound
            queue.put_nowait(item)

        class QueueOutput(Output):
            # Runs on picamera2's encoder thread: hand each frame to the loop, never block here.
            def outputframe(self, frame, keyframe=True, timestamp=None, packet=None, audio=False):
                loop.call_soon_threadsafe(deliver, (bytes(frame), int(timestamp or 0)))

        config = camera.create_video_configuration(
            main={"size": (width, height), "format": "YUV420"}, controls={"FrameRate": float(fps)}
        )
        camera.configure(config)
        # repeat=True puts SPS/PPS before every keyframe and iperiod bounds the wait for one, because
        # with passthrough a receiver's keyframe request (PLI) cannot be honoured by aiortc.
        try:
            encoder = H264Encoder(bitrate=BITRATE, repeat=True, iperiod=fps * 2, profile="baseline")
        except TypeError:  # older picamera2 without the profile argument
            encoder = H264Encoder(bitrate=BITRATE, repeat=True, iperiod=fps * 2)
        camera.start_recording(encoder, QueueOutput())
        self._first_ts: int | None = None

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        item = await self._queue.get()
        if item is None:
            raise MediaStreamError
        data, ts = item
        if self._first_ts is None:
            self._first_ts = ts
        packet = av.Packet(data)
        packet.pts = ts - self._first_ts
        packet.time_base = MICROSECONDS
        return packet

    def stop(self) -> None:
        if self.readyState == "live":
            try:
                self._camera.stop_recording()
            finally:
                self._camera.close()
                self._queue.put_nowait(None)
        super().stop()


class _FrameTrack(MediaStreamTrack):
    """YUV420 frames captured from picamera2 for software encoding (a Pi 5)."""

    kind = "video"

    def __init__(self, camera, width: int, height: int, fps: int) -> None:
        super().__init__()
        self._camera = camera
        camera.configure(
            camera.create_video_configuration(main={"size": (width, height), "format": "YUV420"},
                                              controls={"FrameRate": float(fps)})
        )  # fmt: skip
        camera.start()
        self._start: int | None = None

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        try:
            # capture_array blocks until the next frame: keep it off the event loop.
            request = await asyncio.to_thread(self._camera.capture_request)
        except Exception as exc:  # the camera went away mid-capture
            raise MediaStreamError from exc
        try:
            array = request.make_array("main")
            ts = int(request.get_metadata().get("SensorTimestamp", 0)) // 1000
        finally:
            request.release()
        frame = av.VideoFrame.from_ndarray(array, format="yuv420p")
        self._start = ts if self._start is None else self._start
        frame.pts = ts - self._start
        frame.time_base = MICROSECONDS
        return frame

    def stop(self) -> None:
        if self.readyState == "live":
            try:
                self._camera.stop()
            finally:
                self._camera.close()
        super().stop()


class PiCamera(SupervisedCamera):
    """The Pi camera module on the CSI connector. ``hardware_h264=None`` detects the encoder."""

    def __init__(self, *args, hardware_h264: bool | None = None, **kwargs) -> None:
        """Arguments as :class:`~hw.camera.SupervisedCamera` (``device`` is ignored: CSI)."""
        _picamera2()  # fail at build time with an actionable message, not at the first call
        self.hardware_h264 = has_hardware_h264() if hardware_h264 is None else hardware_h264
        self.passthrough_codec = H264 if self.hardware_h264 else None
        super().__init__(*args, **kwargs)

    def _matches(self, event: HotplugEvent) -> bool:
        return False  # a CSI ribbon is not hot-pluggable; a failing read still marks it unhealthy

    def _open_source(self) -> MediaStreamTrack:
        pc2 = _picamera2()
        try:
            camera = pc2.Picamera2()
        except (IndexError, RuntimeError, OSError) as exc:  # IndexError: no camera detected
            raise DeviceUnavailable("camera", "Raspberry Pi camera (CSI)", str(exc) or "no camera detected") from None
        track_class = _H264Track if self.hardware_h264 else _FrameTrack
        try:
            return track_class(camera, self.width, self.height, self.fps)
        except Exception as exc:
            camera.close()
            raise DeviceUnavailable("camera", "Raspberry Pi camera (CSI)", str(exc)) from None
