"""The booth's speaker mix (rtc/audiomix.py) and private microphone copies (rtc/audiocopy.py):
two voices in other formats come out as one 48 kHz track holding both tones, a sum beyond full
scale clips instead of wrapping, the device is released once the last voice is gone, and two
consumers of one microphone neither see each other's timestamps nor each other's mute."""

from __future__ import annotations

import asyncio
import fractions

import av
import numpy as np
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from hw.audio_fake import CountingSpeaker
from hw.tone import ToneTrack
from rtc.audiocopy import OwnAudioTrack
from rtc.audiomix import FRAME, RATE, AudioMixer, MixingSpeaker


class Reformatted(MediaStreamTrack):
    """A tone as a remote peer might deliver it: another rate and layout than the speaker's."""

    kind = "audio"

    def __init__(self, source: MediaStreamTrack, rate: int, layout: str) -> None:
        super().__init__()
        self._source = source
        self._resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
        self._pending: list[av.AudioFrame] = []

    async def recv(self):
        while not self._pending:
            self._pending = self._resampler.resample(await self._source.recv())
        return self._pending.pop(0)


class Constant(MediaStreamTrack):
    """Paced 20 ms frames of one sample value (a loud, simple signal to add up)."""

    kind = "audio"

    def __init__(self, value: int) -> None:
        super().__init__()
        self.value, self.sent = value, 0

    async def recv(self):
        await asyncio.sleep(FRAME / RATE)
        frame = av.AudioFrame.from_ndarray(np.full((1, FRAME), self.value, dtype=np.int16), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = RATE, self.sent, fractions.Fraction(1, RATE)
        self.sent += FRAME
        return frame


async def mixed_samples(mixer: AudioMixer, frames: int) -> np.ndarray:
    """The mixer's output once every input plays (its first frames are silence while priming)."""
    for _ in range(200):
        first = await mixer.recv()
        if all(count >= 3 for count, _ in mixer.levels()):
            break
    out = [first.to_ndarray().reshape(-1)]
    for _ in range(frames - 1):
        frame = await mixer.recv()
        assert frame.sample_rate == RATE and frame.format.name == "s16" and frame.layout.name == "mono"
        out.append(frame.to_ndarray().reshape(-1))
    return np.concatenate(out)


def strength(samples: np.ndarray, hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(samples.size)))
    freqs = np.fft.rfftfreq(samples.size, 1 / RATE)
    return float(spectrum[np.abs(freqs - hz) < 15].max() / spectrum.mean())


async def test_two_voices_in_other_formats_are_heard_together():
    mixer = AudioMixer()
    advisor = Reformatted(ToneTrack(440, -20), 16_000, "stereo")
    interpreter = Reformatted(ToneTrack(1000, -20), 44_100, "mono")
    mixer.add(advisor)
    mixer.add(interpreter)
    both = await asyncio.wait_for(mixed_samples(mixer, 50), 20)
    assert strength(both, 440) > 50 and strength(both, 1000) > 50

    mixer.discard(interpreter)  # the interpreter leaves: the advisor plays on, alone
    alone = await asyncio.wait_for(mixed_samples(mixer, 50), 20)
    assert strength(alone, 440) > 50 and strength(alone, 1000) < 5
    mixer.stop()


async def test_a_sum_beyond_full_scale_clips_instead_of_wrapping():
    mixer = AudioMixer()
    for value in (30_000, 30_000):
        mixer.add(Constant(value))
    loud = await asyncio.wait_for(mixed_samples(mixer, 5), 20)
    assert (loud == 32767).all()  # wrapped round it would be negative
    mixer.stop()


async def test_the_speaker_plays_while_any_voice_is_there():
    device = CountingSpeaker()
    speaker = MixingSpeaker(device)
    advisor, interpreter = ToneTrack(440, -20), ToneTrack(1000, -20)
    await speaker.play(advisor)
    await speaker.add(interpreter)
    await asyncio.wait_for(device.wait_played(RATE // 2), 20)
    assert device.last_level_dbfs > -40
    await speaker.stop()  # the call re-offers: the advisor's voice goes, the interpreter's stays
    played = device.samples_played
    await asyncio.wait_for(device.wait_played(played + RATE // 4), 20)
    assert speaker.mixer.inputs == [interpreter]
    await speaker.discard(interpreter)
    assert device._task is None  # nothing left to play: the device is released
    assert speaker.healthy  # the rest of the Speaker is the device's


async def test_each_consumer_of_the_microphone_gets_its_own_frames():
    relay = MediaRelay()
    mic = ToneTrack(440, -20)
    muted = {"value": True}
    call = OwnAudioTrack(relay.subscribe(mic), muted=lambda: muted["value"])
    link = OwnAudioTrack(relay.subscribe(mic))
    for _ in range(5):
        await asyncio.wait_for(link.recv(), 5)  # the link starts later than the call: other pts
    a, b = await asyncio.wait_for(asyncio.gather(call.recv(), link.recv()), 5)
    assert a is not b and a.pts != b.pts
    assert not a.to_ndarray().any() and b.to_ndarray().any()  # the call's mute is the call's
    pts = a.pts
    a2 = await asyncio.wait_for(call.recv(), 5)
    assert a2.pts == pts + FRAME and a.pts == pts  # its own rising count; frames once handed out stay
    call.stop()
    link.stop()


def test_after_a_burst_the_voice_plays_no_later_than_before_it():
    """A burst must not delay every later word: what is buffered beyond PRIME drains away, without a gap."""
    from rtc.audiomix import MAX_BUFFERED, PRIME, _Input

    voice = _Input()
    frame = np.ones(FRAME, dtype=np.int16)
    for _ in range(MAX_BUFFERED // FRAME):  # a stall caught up: 200 ms arrive at once
        voice.push(frame)
    played = []
    for _ in range(10 * RATE // FRAME):  # ten seconds of a frame played per frame arriving
        played.append(voice.take())
        voice.push(frame)
    assert all(out is not None and out.size == FRAME for out in played)  # never a gap
    assert voice.buffer.size <= PRIME + FRAME  # as late as when it was first primed, no later
