"""Hot-plug: unplug marks the camera unhealthy and tells listeners; replug recovers by itself,
mid-call included (the peer connection keeps its track and the advisor side sees frames again)."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCPeerConnection, RTCRtpSender
from aiortc.mediastreams import MediaStreamError

from hw.base import HotplugEvent, HotplugSource
from hw.devices import build_devices
from hw.encoded import PrerecordedH264Camera
from hw.hotplug import FakeHotplug, UdevHotplug
from hw.synthetic import SyntheticCamera, looks_like_test_pattern

from .conftest import hardware_settings, skip_with_reason


async def test_fake_hotplug_delivers_events_to_listeners():
    hp = FakeHotplug()
    assert isinstance(hp, HotplugSource)
    seen: list[HotplugEvent] = []
    off = hp.subscribe(seen.append)
    hp.unplug("/dev/video0")
    off()
    hp.replug("/dev/video0")
    assert seen == [HotplugEvent("remove", "video4linux", "/dev/video0", "video0")]


async def test_udev_monitor_starts_where_netlink_exists():
    hp = UdevHotplug()
    try:
        await hp.start()
    except Exception as exc:  # containers often have no udev netlink socket
        skip_with_reason(f"udev netlink monitor not available here ({exc}): real hot-plug not exercised")
    assert isinstance(hp, HotplugSource)
    hp.close()


class SocketMonitor:
    """A pyudev-like monitor whose file descriptor becomes readable when a test queues a device."""

    def __init__(self) -> None:
        import socket

        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self.queued: list = []

    def fileno(self) -> int:
        return self._r.fileno()

    def push(self, action: str, subsystem: str, node: str) -> None:
        from types import SimpleNamespace

        self.queued.append(SimpleNamespace(action=action, subsystem=subsystem, device_node=node,
                                           sys_name=node.rsplit("/", 1)[-1]))
        self._w.send(b"x")

    def poll(self, timeout=None):
        try:
            self._r.recv(1)
        except BlockingIOError:
            return None
        return self.queued.pop(0)


async def test_udev_events_arrive_on_the_loop_and_drive_the_camera():
    monitor = SocketMonitor()
    hp = UdevHotplug(monitor_factory=lambda subsystems: monitor)
    await hp.start()
    cam = SyntheticCamera(width=160, height=120, hotplug=hp)
    changes: asyncio.Queue = asyncio.Queue()
    cam.on_change(changes.put_nowait)
    seen: asyncio.Queue = asyncio.Queue()
    hp.subscribe(seen.put_nowait)
    monitor.push("change", "video4linux", "/dev/video0")  # not add/remove: ignored
    monitor.push("remove", "video4linux", "/dev/video0")
    event = await asyncio.wait_for(seen.get(), 5)
    assert event == HotplugEvent("remove", "video4linux", "/dev/video0", "video0")
    assert (await asyncio.wait_for(changes.get(), 5)).healthy is False
    monitor.push("add", "video4linux", "/dev/video0")
    assert (await asyncio.wait_for(changes.get(), 5)).healthy is True
    hp.close()
    await cam.close()


async def test_unplug_and_replug_tell_listeners_and_swap_the_picture():
    hp = FakeHotplug()
    cam = SyntheticCamera(width=320, height=240, hotplug=hp)
    changes = []
    cam.on_change(changes.append)
    track = cam.video_track()
    assert looks_like_test_pattern(await track.recv())
    hp.unplug("/dev/video1")  # another device: ignored
    assert cam.healthy
    hp.unplug("/dev/video0")
    assert not cam.healthy
    assert changes[-1].device == "camera" and not changes[-1].healthy
    assert changes[-1].hint == "check.camera.unplugged"
    assert not looks_like_test_pattern(await track.recv())  # the "camera unavailable" picture
    hp.replug("/dev/video0")
    assert cam.healthy and changes[-1].healthy
    assert looks_like_test_pattern(await asyncio.wait_for(track.recv(), 5))
    track.stop()
    await cam.close()


async def test_device_that_dies_without_udev_event_is_noticed():
    cam = SyntheticCamera(width=320, height=240)
    track = cam.video_track()
    await track.recv()
    cam._source.stop()  # the driver's read fails, as when a USB cable is pulled
    frame = await asyncio.wait_for(track.recv(), 5)
    assert not looks_like_test_pattern(frame)
    assert not cam.healthy
    assert cam.recover() and cam.healthy
    assert looks_like_test_pattern(await asyncio.wait_for(track.recv(), 5))
    track.stop()
    await cam.close()


async def test_devices_report_camera_fault_and_recovery():
    devices = build_devices(hardware_settings())
    await devices.start()
    seen = []
    devices.on_change(seen.append)
    devices.hotplug.unplug("/dev/video0")
    assert not devices.healthy
    devices.hotplug.replug("/dev/video0")
    assert devices.healthy
    assert [c.healthy for c in seen] == [False, True]
    await devices.close()


class Receiver:
    """The advisor's side: records whether the latest frames show the test pattern."""

    def __init__(self, track) -> None:
        self.track = track
        self.want: tuple[bool, asyncio.Event] | None = None
        self.frames = 0
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            while True:
                frame = await self.track.recv()
                self.frames += 1
                if self.want is not None and looks_like_test_pattern(frame) == self.want[0]:
                    self.want[1].set()
        except MediaStreamError:
            return

    async def sees_pattern(self, expected: bool, timeout: float = 30) -> None:
        event = asyncio.Event()
        self.want = (expected, event)
        await asyncio.wait_for(event.wait(), timeout)


@pytest.mark.slow
@pytest.mark.parametrize("passthrough", [False, True], ids=["vp8-frames", "h264-passthrough"])
async def test_call_survives_camera_unplug_and_replug(passthrough):
    hp = FakeHotplug()
    camera_class = PrerecordedH264Camera if passthrough else SyntheticCamera
    cam = camera_class(width=320, height=240, fps=15, hotplug=hp)
    booth, advisor = RTCPeerConnection(), RTCPeerConnection()
    sender_track = cam.video_track(encoded=passthrough)
    transceiver = booth.addTransceiver(sender_track, direction="sendonly")
    if passthrough:  # the placeholder frames are encoded by libx264, the camera's packets passed on
        caps = RTCRtpSender.getCapabilities("video").codecs
        transceiver.setCodecPreferences([c for c in caps if c.mimeType == cam.passthrough_codec])
    got_track = asyncio.get_running_loop().create_future()
    advisor.on("track", lambda t: got_track.set_result(t) if t.kind == "video" else None)
    try:
        await booth.setLocalDescription(await booth.createOffer())
        await advisor.setRemoteDescription(booth.localDescription)
        await advisor.setLocalDescription(await advisor.createAnswer())
        await booth.setRemoteDescription(advisor.localDescription)
        receiver = Receiver(await asyncio.wait_for(got_track, 20))

        await receiver.sees_pattern(True)
        hp.unplug("/dev/video0")
        await receiver.sees_pattern(False)  # "camera unavailable", and the call is still up
        assert booth.connectionState == "connected"
        hp.replug("/dev/video0")
        await receiver.sees_pattern(True)  # the same track carries the camera again
        assert booth.connectionState == "connected"
        assert booth.getSenders()[0].track is sender_track
        receiver.task.cancel()
    finally:
        await booth.close()
        await advisor.close()
        await cam.close()


async def test_usb_audio_unplug_and_replug():
    devices = build_devices(hardware_settings())
    await devices.start()
    seen = []
    devices.on_change(seen.append)
    mic_track = devices.microphone.audio_track()
    await asyncio.wait_for(mic_track.recv(), 5)
    devices.hotplug.unplug("/dev/snd/pcmC1D0c", subsystem="sound")
    assert not devices.microphone.healthy and not devices.speaker.healthy
    assert {(c.device, c.healthy) for c in seen} == {("microphone", False), ("speaker", False)}
    silent = await asyncio.wait_for(mic_track.recv(), 5)  # the track lives on, silent
    assert not silent.to_ndarray().any()
    devices.hotplug.replug("/dev/snd/pcmC1D0c", subsystem="sound")
    assert devices.microphone.healthy and devices.speaker.healthy
    await asyncio.wait_for(devices.speaker.play_test_tone(0.1), 5)
    assert devices.speaker.samples_played >= 4800
    mic_track.stop()
    await devices.close()


async def test_camera_recovers_by_itself_without_udev():
    cam = SyntheticCamera(width=160, height=120, fps=10)  # hotplug "none": nobody announces a replug
    changes: asyncio.Queue = asyncio.Queue()
    cam.on_change(changes.put_nowait)
    track = cam.video_track()
    await track.recv()
    cam.present = False
    cam._source.stop()  # the cable is pulled; the read fails
    await asyncio.wait_for(track.recv(), 5)
    assert (await asyncio.wait_for(changes.get(), 5)).healthy is False
    cam.present = True  # plugged back in: the retry timer finds it
    assert (await asyncio.wait_for(changes.get(), 15)).healthy is True
    assert looks_like_test_pattern(await asyncio.wait_for(track.recv(), 5))
    track.stop()
    await cam.close()


async def test_camera_missing_at_start_is_picked_up_when_it_appears():
    cam = SyntheticCamera(width=160, height=120, fps=10)
    cam.present = False
    changes: asyncio.Queue = asyncio.Queue()
    cam.on_change(changes.put_nowait)
    track = cam.video_track()
    assert not cam.healthy and not looks_like_test_pattern(await asyncio.wait_for(track.recv(), 5))
    assert (await changes.get()).healthy is False
    cam.present = True
    assert (await asyncio.wait_for(changes.get(), 15)).healthy is True
    assert looks_like_test_pattern(await asyncio.wait_for(track.recv(), 5))
    track.stop()
    await cam.close()
