"""The picamera2 driver's plumbing, with a stand-in for the picamera2 module (no Pi here): the
hardware encoder's output thread -> asyncio -> av.Packet passthrough; YUV420 capture on a Pi 5."""

from __future__ import annotations

import asyncio
import sys
import threading
import types

import av
import pytest

import hw.picamera as picamera
from hw.encoded import encode_test_pattern
from hw.errors import DriverMissing
from hw.synthetic import looks_like_test_pattern, pattern_image


class FakePicamera2:
    """The parts of picamera2.Picamera2 the driver uses; encoded frames come from a thread."""

    instances: list["FakePicamera2"] = []
    fail_open = False

    def __init__(self) -> None:
        if FakePicamera2.fail_open:
            raise IndexError("list index out of range")  # what picamera2 raises with no camera
        self.closed = False
        self.stop_event = threading.Event()
        self.config = None
        FakePicamera2.instances.append(self)

    def create_video_configuration(self, main, controls):
        return {"main": main, "controls": controls}

    def configure(self, config):
        self.config = config

    def start_recording(self, encoder, output):
        self.encoder = encoder
        width, height = self.config["main"]["size"]
        units = encode_test_pattern(width, height, 10, seconds=1.0)

        def run():  # picamera2's encoder thread calls outputframe for each encoded frame
            i = 0
            while not self.stop_event.wait(0.02):
                output.outputframe(units[i % len(units)], i % len(units) == 0, 1_000_000 + i * 100_000)
                i += 1

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def stop_recording(self):
        self.stop_event.set()
        self.thread.join(5)

    def start(self):
        pass

    def stop(self):
        pass

    def capture_request(self):
        width, height = self.config["main"]["size"]
        rgb = av.VideoFrame.from_ndarray(pattern_image(width, height, 0, 0.0), format="rgb24")
        yuv = rgb.reformat(format="yuv420p").to_ndarray()
        request = types.SimpleNamespace(
            make_array=lambda name: yuv, get_metadata=lambda: {"SensorTimestamp": 5_000_000_000},
            release=lambda: None,
        )  # fmt: skip
        return request

    def close(self):
        self.closed = True


class FakeH264Encoder:
    def __init__(self, bitrate, repeat, iperiod, profile=None):
        self.bitrate, self.repeat, self.iperiod, self.profile = bitrate, repeat, iperiod, profile


class FakeOutput:
    def outputframe(self, frame, keyframe=True, timestamp=None, packet=None, audio=False):
        raise NotImplementedError


@pytest.fixture
def fake_picamera2(monkeypatch):
    pkg = types.ModuleType("picamera2")
    pkg.Picamera2 = FakePicamera2
    encoders = types.ModuleType("picamera2.encoders")
    encoders.H264Encoder = FakeH264Encoder
    outputs = types.ModuleType("picamera2.outputs")
    outputs.Output = FakeOutput
    for name, module in (("picamera2", pkg), ("picamera2.encoders", encoders), ("picamera2.outputs", outputs)):
        monkeypatch.setitem(sys.modules, name, module)
    FakePicamera2.instances = []
    FakePicamera2.fail_open = False
    return pkg


def test_without_picamera2_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)
    with pytest.raises(DriverMissing, match="python3-picamera2"):
        picamera.PiCamera()


async def test_hardware_h264_is_passed_through(fake_picamera2):
    cam = picamera.PiCamera(width=320, height=240, fps=10, hardware_h264=True)
    assert cam.passthrough_codec == "video/H264"
    track = cam.video_track(encoded=True)
    packets = [await asyncio.wait_for(track.recv(), 5) for _ in range(5)]
    assert all(isinstance(p, av.Packet) for p in packets)
    assert [p.pts for p in packets] == sorted(p.pts for p in packets)
    decoder = av.CodecContext.create("h264", "r")
    frames = [f for p in packets for f in decoder.decode(p)]
    assert frames and looks_like_test_pattern(frames[0])
    encoder = FakePicamera2.instances[0].encoder
    assert encoder.repeat and encoder.iperiod == 20 and encoder.profile == "baseline"
    track.stop()
    assert FakePicamera2.instances[0].closed  # nobody watches: the camera is released
    await cam.close()


async def test_pi5_frames_are_captured_for_software_encoding(fake_picamera2):
    cam = picamera.PiCamera(width=320, height=240, fps=10, hardware_h264=False)
    assert cam.passthrough_codec is None
    track = cam.video_track()
    frame = await asyncio.wait_for(track.recv(), 5)
    assert isinstance(frame, av.VideoFrame) and (frame.width, frame.height) == (320, 240)
    assert looks_like_test_pattern(frame)
    track.stop()
    await cam.close()


async def test_no_camera_on_the_ribbon_is_unavailable(fake_picamera2):
    FakePicamera2.fail_open = True
    cam = picamera.PiCamera(width=320, height=240, fps=10, hardware_h264=True)
    track = cam.video_track()
    assert not cam.healthy and "Raspberry Pi camera" in cam._health.last.detail
    frame = await asyncio.wait_for(track.recv(), 5)
    assert isinstance(frame, av.VideoFrame) and not looks_like_test_pattern(frame)  # the placeholder
    track.stop()
    await cam.close()
