"""Microphone and speaker contracts, against the fakes and (where present) ALSA."""

from __future__ import annotations

import asyncio

import av
import numpy as np
import pytest

from hw.audio_fake import CountingSpeaker, FakeRoom, ToneMicrophone
from hw.base import Microphone, Speaker
from hw.levels import rms_dbfs, samples_of, tone_dbfs
from hw.tone import ToneTrack

from .conftest import real_sound_card, skip_with_reason


def fake_pair():
    room = FakeRoom()
    return ToneMicrophone(room=room), CountingSpeaker(room)


def alsa_pair():
    if not real_sound_card():
        skip_with_reason("no ALSA sound card on this machine (/proc/asound/cards): ALSA driver not exercised")
    from hw.alsa import AlsaMicrophone, AlsaSpeaker

    return AlsaMicrophone("default"), AlsaSpeaker("default")


@pytest.fixture(params=[fake_pair, alsa_pair], ids=["fake", "alsa"])
async def audio(request):
    mic, speaker = request.param()
    yield mic, speaker
    await speaker.close()
    await mic.close()


async def test_interfaces(audio):
    mic, speaker = audio
    assert isinstance(mic, Microphone) and isinstance(speaker, Speaker)


async def test_microphone_delivers_48k_frames(audio):
    mic, _ = audio
    track = mic.audio_track()
    frames = [await asyncio.wait_for(track.recv(), 10) for _ in range(5)]
    track.stop()
    assert all(isinstance(f, av.AudioFrame) and f.sample_rate == 48_000 for f in frames)
    pts = [f.pts for f in frames]
    assert pts == sorted(pts)
    assert mic.healthy


async def test_speaker_plays_a_track_until_stopped(audio):
    _, speaker = audio
    track = ToneTrack(1000, -20)
    await speaker.play(track)
    if isinstance(speaker, CountingSpeaker):
        await asyncio.wait_for(speaker.wait_played(48_000 // 5), 10)
    await speaker.stop()
    assert speaker.healthy


async def test_test_tone_returns_when_played(audio):
    _, speaker = audio
    await asyncio.wait_for(speaker.play_test_tone(0.2), 10)
    if isinstance(speaker, CountingSpeaker):
        assert speaker.samples_played == 9600
        assert -14 < speaker.last_level_dbfs < -10


async def test_fake_speaker_writes_no_file(tmp_path, monkeypatch):
    """Nothing is recorded: the fake speaker opens no file while playing."""
    import builtins

    opened = []
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    speaker = CountingSpeaker()
    await speaker.play_test_tone(0.1)
    assert opened == [] and speaker.samples_played > 0


async def test_room_carries_speaker_tone_to_microphone():
    mic, speaker = fake_pair()
    # Every frame, in order: a reader slowed by a busy machine must not skip frames, or the tones'
    # phase jumps between the frames it kept and one DFT bin no longer sums them.
    track = mic.audio_track(every_frame=True)
    await speaker.play_test_tone(0.4)
    heard = np.concatenate([samples_of(await track.recv()) for _ in range(20)])
    track.stop()
    assert tone_dbfs(heard, 1000) > -30
    assert tone_dbfs(heard, 440) > -35  # the microphone's own "voice" tone is there too


def test_level_helpers():
    t = np.arange(48_000) / 48_000
    x = (0.1 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    assert rms_dbfs(x) == pytest.approx(-23.0, abs=0.2)
    assert tone_dbfs(x, 1000) == pytest.approx(-23.0, abs=0.2)
    assert tone_dbfs(x, 440) < -60
