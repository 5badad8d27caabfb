"""The shared device checks can fail, and say why with a stable hint key."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from hw import checks
from hw.audio_fake import CountingSpeaker, FakeRoom, ToneMicrophone
from hw.button import GpioCallButton
from hw.camera import SupervisedCamera
from hw.errors import DeviceUnavailable
from hw.synthetic import SyntheticCamera, SyntheticVideoTrack


class FrozenTrack(SyntheticVideoTrack):
    """Paced like a camera, but always the first picture, like a hung driver."""

    async def recv(self):
        frame = await super().recv()
        self._first = getattr(self, "_first", frame)
        same = self._first.reformat()
        same.pts, same.time_base = frame.pts, frame.time_base
        return same


class FrozenCamera(SupervisedCamera):
    def _open_source(self):
        return FrozenTrack(self.width, self.height, self.fps)


class MissingCamera(SupervisedCamera):
    def _open_source(self):
        raise DeviceUnavailable("camera", self.device, "no such device")


async def test_camera_check_passes_on_live_camera():
    cam = SyntheticCamera(width=320, height=240)
    result = await checks.check_camera(cam)
    await cam.close()
    assert result.ok and result.hint == "check.camera.ok"


async def test_camera_check_fails_on_frozen_picture():
    cam = FrozenCamera(width=320, height=240)
    result = await checks.check_camera(cam, timeout=1.0)
    await cam.close()
    assert not result.ok and result.hint == "check.camera.frozen" and result.hint_text


async def test_camera_check_fails_on_missing_camera():
    cam = MissingCamera(width=320, height=240)
    result = await checks.check_camera(cam, timeout=1.0)
    await cam.close()
    assert not result.ok and result.hint == "check.camera.unavailable"


async def test_audio_check_passes_in_a_fake_room():
    room = FakeRoom()
    mic, speaker = ToneMicrophone(room=room), CountingSpeaker(room)
    results = await checks.check_audio(mic, speaker, seconds=0.6)
    assert [r.ok for r in results] == [True, True], results


async def test_audio_check_measures_the_devices_not_a_stalled_machine():
    """Issue 19: on a loaded machine the event loop stalls; the paced tone then catches up in a
    burst and the playback is over at once. The check must still listen to the microphone for as
    many samples as the tone lasts (it used to stop listening with the speaker: "microphone
    delivers no sound", "test tone heard at -100 dBFS")."""
    room = FakeRoom()
    mic, speaker = ToneMicrophone(room=room), CountingSpeaker(room)
    stall = asyncio.get_running_loop().call_later(0.05, time.sleep, 1.0)  # the machine, busy elsewhere
    results = await checks.check_audio(mic, speaker, seconds=0.6)
    stall.cancel()
    assert [r.ok for r in results] == [True, True], results


async def test_audio_check_fails_when_speaker_is_not_heard():
    mic, speaker = ToneMicrophone(room=FakeRoom()), CountingSpeaker(room=None)
    mic_result, speaker_result = await checks.check_audio(mic, speaker, seconds=0.6)
    assert mic_result.ok
    assert not speaker_result.ok and speaker_result.hint == "check.speaker.not_heard"


async def test_audio_check_fails_on_a_dead_microphone():
    mic, speaker = ToneMicrophone(level_dbfs=None, room=None), CountingSpeaker()
    mic_result, _ = await checks.check_audio(mic, speaker, seconds=0.6)
    assert not mic_result.ok and mic_result.hint == "check.microphone.silent"


async def test_level_stream_for_the_meter():
    mic = ToneMicrophone(level_dbfs=-20)
    levels = checks.microphone_levels(mic, every_s=0.1)
    values = [await asyncio.wait_for(levels.__anext__(), 5) for _ in range(3)]
    await levels.aclose()
    assert all(-22 < v < -18 for v in values), values


async def test_button_check_sees_a_press_and_restores_handlers():
    from gpiozero.pins.mock import MockFactory

    factory = MockFactory()
    button = GpioCallButton(17, long_press_s=5, pin_factory=factory)
    mine = object()
    button.when_pressed = mine
    check = asyncio.create_task(checks.check_button(button, timeout=10))
    await asyncio.sleep(0)  # let the check install its handler
    pin = factory.pin(17)
    pin.drive_low()
    await asyncio.to_thread(button.wait_for_state, True, 5)
    pin.drive_high()
    result = await check
    assert result.ok and button.when_pressed is mine
    button.close()


def test_disk_check_fails_when_full(tmp_path):
    assert checks.check_disk(tmp_path).ok
    low = checks.check_disk(tmp_path / "not" / "yet", min_free_mb=10**12)
    assert not low.ok and low.hint == "check.disk.low"


async def test_clock_check_passes_or_skips_with_reason():
    result = await checks.check_clock()
    assert result.ok or result.hint == "check.clock.not_synced"
    if result.skipped:
        assert result.detail


async def test_hub_check():
    async def unhealthy(request: web.Request) -> web.Response:
        return web.Response(status=503)

    app = web.Application()
    app.router.add_get("/healthz", unhealthy)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        bad = await checks.check_hub(url)
        assert not bad.ok and bad.hint == "check.hub.bad_status"
    finally:
        await runner.cleanup()
    gone = await checks.check_hub(url, timeout=2)
    assert not gone.ok and gone.hint == "check.hub.unreachable"
