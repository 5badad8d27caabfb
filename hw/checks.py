"""Device checks shared by ``videokiosk selftest`` and the booth's device-check screen.

Each check returns a :class:`CheckResult`; ``hint`` is a stable translation key for the booth UI,
``hint_text`` the English line a technician reads in the self-test table.

Example::

    results = [await check_camera(devices.camera), *await check_audio(devices.microphone,
               devices.speaker), await check_disk("/var/lib/videokiosk")]
    all(r.ok for r in results)
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError

from .base import Camera, CallButton, Microphone, Speaker
from .hints import HINTS
from .levels import SILENCE_DBFS, rms_dbfs, samples_of, tone_dbfs
from .tone import SAMPLE_RATE

# Below this the microphone hears nothing at all (unplugged, muted, broken).
NOISE_FLOOR_DBFS = -55.0
# The test tone must reach the microphone at least this loud for the speaker to count as working.
TONE_HEARD_DBFS = -50.0
TEST_TONE_HZ = 1000.0
# The test tone reaches the microphone this late (playback buffers, the air); its start is not judged.
PLAYBACK_LATENCY_S = 0.2
# The tone is looked for in stretches this long (its loudest counts): long enough for one frequency.
TONE_STRETCH_S = 0.1
MIN_FREE_MB = 500


@dataclass(frozen=True)
class CheckResult:
    name: str  # "camera", "microphone", "speaker", "button", "disk", "clock", "hub"
    ok: bool
    detail: str  # English, for technicians and logs; never personal data
    hint: str  # translation key, e.g. "check.camera.no_frames"
    skipped: bool = False

    @property
    def hint_text(self) -> str:
        return HINTS.get(self.hint, "")

    @property
    def status(self) -> str:
        return "skip" if self.skipped else ("pass" if self.ok else "fail")


def _result(name: str, ok: bool, detail: str, problem: str = "", skipped: bool = False) -> CheckResult:
    return CheckResult(name, ok, detail, f"check.{name}.{'ok' if ok and not skipped else problem or 'skipped'}", skipped)


async def check_camera(camera: Camera, timeout: float = 5.0) -> CheckResult:
    """Frames arrive and change (the picture is live, not frozen) within ``timeout``."""
    track = camera.video_track(encoded=True)  # packets are enough to see a picture change
    first: bytes | None = None
    frames = 0
    try:
        async with asyncio.timeout(timeout):
            while True:
                item = await track.recv()
                if not camera.healthy:
                    break
                frames += 1
                data = _fingerprint(item)
                if first is None:
                    first = data
                elif data != first:
                    return _result("camera", True, f"{frames} frames, picture changes")
    except (TimeoutError, MediaStreamError):
        pass
    finally:
        track.stop()
    if not camera.healthy:
        return _result("camera", False, "camera not available", "unavailable")
    if frames < 2:
        return _result("camera", False, f"{frames} frame(s) in {timeout:.0f} s", "no_frames")
    return _result("camera", False, f"{frames} frames, all identical", "frozen")


def _fingerprint(item) -> bytes:
    if isinstance(item, av.VideoFrame):
        return item.to_ndarray(format="gray")[::8, ::8].tobytes()
    return bytes(item)  # an encoded packet


class _Heard:
    """What the microphone delivered during the audio check, past the playback latency: its
    samples, their level, and the test tone's level in its loudest stretch so far."""

    def __init__(self, frequency: float) -> None:
        self.frequency = frequency
        self.rate = SAMPLE_RATE  # the microphone's, from its frames
        self.chunks: list[np.ndarray] = []
        self.tone = SILENCE_DBFS
        self._unjudged = np.zeros(0, dtype=np.float32)  # past the latency, not yet a whole stretch

    def add(self, frame) -> None:
        self.rate = frame.sample_rate or self.rate
        skip = max(0, int(PLAYBACK_LATENCY_S * self.rate) - sum(c.size for c in self.chunks))
        self.chunks.append(samples_of(frame))
        self._unjudged = np.concatenate([self._unjudged, self.chunks[-1][skip:]])
        stretch = max(1, int(TONE_STRETCH_S * self.rate))
        while self._unjudged.size >= stretch:
            self.tone = max(self.tone, tone_dbfs(self._unjudged[:stretch], self.frequency, self.rate))
            self._unjudged = self._unjudged[stretch:]

    @property
    def samples(self) -> np.ndarray:
        if not self.chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self.chunks)[int(PLAYBACK_LATENCY_S * self.rate) :]

    @property
    def seconds(self) -> float:
        return sum(c.size for c in self.chunks) / self.rate

    @property
    def level(self) -> float:
        samples = self.samples
        return rms_dbfs(samples) if samples.size else SILENCE_DBFS


async def check_audio(
    microphone: Microphone, speaker: Speaker, seconds: float = 1.0, frequency: float = TEST_TONE_HZ
) -> list[CheckResult]:
    """Play a test tone and listen: the microphone must hear sound, and the tone among it.

    Listening ends when the microphone has heard the tone (or, failing that, a while after the
    tone was all written), not when the speaker returns: on a loaded machine the event loop
    stalls, the paced tone catches up in a burst and its playback is "over" at once, while the
    speaker still plays it and the microphone, behind on its own backlog, is yet to hear it. Every
    frame the microphone delivers is measured (none dropped while the loop catches up), and the
    tone's level is that of its loudest stretch, wherever it fell."""
    track = microphone.audio_track(every_frame=True)
    heard = _Heard(frequency)
    arrived = asyncio.Event()

    async def listen() -> None:
        while True:
            heard.add(await track.recv())
            arrived.set()

    listener = asyncio.create_task(listen())
    speaker_error = ""
    try:
        await asyncio.wait_for(speaker.play_test_tone(seconds, frequency), seconds + 5)
    except Exception as exc:  # any driver failure is a failed check, reported, not raised
        speaker_error = str(exc) or type(exc).__name__
    try:
        async with asyncio.timeout(seconds + 5):  # a tone not heard by then is not heard
            while heard.tone < TONE_HEARD_DBFS or heard.seconds < PLAYBACK_LATENCY_S + seconds:
                arrived.clear()
                await arrived.wait()
    except TimeoutError:
        pass
    finally:
        listener.cancel()
        try:
            await listener
        except (asyncio.CancelledError, MediaStreamError):
            pass
        track.stop()
    samples, level, tone = heard.samples, heard.level, heard.tone
    if not microphone.healthy or samples.size == 0:
        mic = _result("microphone", False, "microphone delivers no sound", "unavailable")
    elif level < NOISE_FLOOR_DBFS:
        mic = _result("microphone", False, f"level {level:.0f} dBFS, below noise floor {NOISE_FLOOR_DBFS:.0f}", "silent")
    else:
        mic = _result("microphone", True, f"level {level:.0f} dBFS")
    if speaker_error or not speaker.healthy:
        spk = _result("speaker", False, speaker_error or "speaker not available", "unavailable")
    elif tone < TONE_HEARD_DBFS:
        spk = _result("speaker", False, f"test tone heard at {tone:.0f} dBFS, need {TONE_HEARD_DBFS:.0f}", "not_heard")
    else:
        spk = _result("speaker", True, f"test tone heard at {tone:.0f} dBFS")
    return [mic, spk]


async def microphone_levels(microphone: Microphone, every_s: float = 0.1) -> AsyncIterator[float]:
    """RMS level in dBFS every ``every_s`` for the level meter; stops the track when closed.

    ``hw.levels.to_meter(dbfs)`` maps a value to 0..1 for a bar.
    """
    track = microphone.audio_track()
    chunk: list[np.ndarray] = []
    collected = 0
    try:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            samples = samples_of(frame)
            chunk.append(samples)
            collected += samples.size
            if collected >= every_s * (frame.sample_rate or 48_000):
                yield rms_dbfs(np.concatenate(chunk))
                chunk, collected = [], 0
    finally:
        track.stop()


async def check_button(button: CallButton, timeout: float = 30.0) -> CheckResult:
    """A press (short or long) within ``timeout``; the button's own handlers are restored after."""
    loop = asyncio.get_running_loop()
    pressed = asyncio.Event()
    saved = (button.when_pressed, button.when_long_pressed)
    button.when_pressed = button.when_long_pressed = lambda: loop.call_soon_threadsafe(pressed.set)
    try:
        await asyncio.wait_for(pressed.wait(), timeout)
        return _result("button", True, "press seen")
    except TimeoutError:
        return _result("button", False, f"no press within {timeout:.0f} s", "no_press")
    finally:
        button.when_pressed, button.when_long_pressed = saved


def check_disk(path: str | Path, min_free_mb: int = MIN_FREE_MB) -> CheckResult:
    """Free space where the booth keeps its data (the nearest existing parent of ``path``)."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    free_mb = shutil.disk_usage(p).free // 2**20
    if free_mb < min_free_mb:
        return _result("disk", False, f"{free_mb} MB free on {p}, need {min_free_mb}", "low")
    return _result("disk", True, f"{free_mb} MB free on {p}")


async def check_clock() -> CheckResult:
    """The system clock is NTP-synchronised (certificates and the 14-day purge depend on it)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            "timedatectl", "show", "--property=NTPSynchronized", "--value",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 5)
    except (OSError, TimeoutError) as exc:
        return _result("clock", True, f"cannot ask timedatectl ({exc})", skipped=True)
    answer = out.decode().strip()
    if proc.returncode != 0 or answer not in ("yes", "no"):
        reason = err.decode().strip().splitlines()[:1] or [f"exit {proc.returncode}"]
        return _result("clock", True, f"timedatectl: {reason[0]} (no systemd here?)", skipped=True)
    if answer == "no":
        return _result("clock", False, f"not NTP-synchronised (now {time.strftime('%Y-%m-%d %H:%M:%S %Z')})", "not_synced")
    return _result("clock", True, "NTP-synchronised")


async def check_credential(url: str, token: str, timeout: float = 5.0, ssl=None) -> CheckResult:
    """The hub accepts this booth's device token (GET ``<url>/api/booth/credential``)."""
    import aiohttp

    target = url.rstrip("/") + "/api/booth/credential"
    if not token:
        return _result("credential", False, "no device token configured", "missing")
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            async with session.get(target, ssl=ssl, headers={"Authorization": f"Bearer {token}"}) as resp:
                answer = await resp.json(content_type=None) if resp.status == 200 else {}
                if resp.status == 200 and isinstance(answer, dict):
                    return _result("credential", True, f"the hub knows this booth as {answer.get('booth')}")
                return _result("credential", False, f"{target} answers {resp.status}", "refused")
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
        return _result("credential", False, f"{target} unreachable ({type(exc).__name__})", "unreachable")


async def check_hub(url: str, timeout: float = 5.0, ssl=None) -> CheckResult:
    """GET ``<url>/healthz`` answers 200 within ``timeout``."""
    import aiohttp

    target = url.rstrip("/") + "/healthz"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            async with session.get(target, ssl=ssl) as resp:
                if resp.status == 200:
                    return _result("hub", True, f"{target} answers 200")
                return _result("hub", False, f"{target} answers {resp.status}", "bad_status")
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return _result("hub", False, f"{target} unreachable ({type(exc).__name__}: {exc})", "unreachable")
