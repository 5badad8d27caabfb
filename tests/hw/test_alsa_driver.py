"""The ALSA driver's plumbing without a sound card: PyAV's device opener is stood in for by an
in-memory stream, to prove what reaches "the device" and that the ``alsa`` format is forced."""

from __future__ import annotations

import asyncio
import io

import av
import numpy as np
import pytest
from aiortc.contrib.media import MediaPlayer

import hw.alsa as alsa
from hw.levels import samples_of, tone_dbfs
from hw.tone import SAMPLE_RATE, tone_samples


@pytest.fixture
def device_writes(monkeypatch):
    """Everything the speaker sends to ALSA, as raw s16le bytes in memory."""
    class Sink(io.BytesIO):
        def close(self) -> None:  # keep the bytes readable after playback
            pass

    opened = []
    sink = Sink()
    real_open = av.open

    def fake_open(target, mode="r", format=None, **kw):
        opened.append((target, mode, format))
        assert format == "alsa", "playback must only ever go to an ALSA device"
        return real_open(sink, mode="w", format="s16le")

    monkeypatch.setattr(alsa.av, "open", fake_open)
    return opened, sink


async def test_speaker_writes_the_tone_to_the_device(device_writes):
    opened, sink = device_writes
    speaker = alsa.AlsaSpeaker("plughw:CARD=Device")
    await asyncio.wait_for(speaker.play_test_tone(0.2, frequency=1000), 10)
    assert speaker._container is None  # released as soon as the tone is over
    await speaker.close()
    assert opened == [("plughw:CARD=Device", "w", "alsa")]
    pcm = np.frombuffer(sink.getvalue(), dtype=np.int16).reshape(-1, 2)
    assert abs(len(pcm) - 0.2 * SAMPLE_RATE) <= 960  # stereo frames written, a resampler's worth of slack
    # The -12 dBFS mono tone, upmixed to both channels at -3 dB each.
    assert tone_dbfs(pcm[:, 0].astype(np.float32) / 32768, 1000) == pytest.approx(-15, abs=1)
    assert speaker.healthy


async def test_speaker_without_device_is_unhealthy_and_keeps_draining(monkeypatch):
    def no_device(*a, **kw):
        raise av.FFmpegError(5, "Input/output error")

    monkeypatch.setattr(alsa.av, "open", no_device)
    speaker = alsa.AlsaSpeaker("hw:9")
    await asyncio.wait_for(speaker.play_test_tone(0.1), 10)  # returns although nothing could play
    assert not speaker.healthy and "hw:9" in speaker._health.last.detail


def wav_with_tone(seconds: float, frequency: float) -> io.BytesIO:
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=SAMPLE_RATE, layout="mono")
        pcm = (tone_samples(frequency, -12, 0, int(seconds * SAMPLE_RATE)) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buf.seek(0)
    return buf


async def test_microphone_delivers_what_the_card_captures(monkeypatch):
    asked = []

    def fake_player(device, format=None, options=None):
        asked.append((device, format, options))
        return MediaPlayer(wav_with_tone(1.0, 700))

    monkeypatch.setattr(alsa, "MediaPlayer", fake_player)
    mic = alsa.AlsaMicrophone("plughw:CARD=Device")
    track = mic.audio_track()
    frames = [await asyncio.wait_for(track.recv(), 5) for _ in range(10)]
    track.stop()
    await mic.close()
    assert asked == [("plughw:CARD=Device", "alsa", {"sample_rate": "48000", "channels": "1"})]
    assert all(f.sample_rate == SAMPLE_RATE for f in frames)
    heard = np.concatenate([samples_of(f) for f in frames])
    assert tone_dbfs(heard, 700) > -20
