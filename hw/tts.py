"""Text to speech, offline: espeak-ng from Debian, and a fake that records what it was asked to say.

Nothing leaves the booth: the text goes to a local ``espeak-ng`` process on its stdin (never on the
command line, where ``ps`` shows it) and comes back as WAV on its stdout, which becomes 48 kHz mono
float samples for the speaker path (:mod:`hw.voice`).

Example::

    engine = EspeakEngine()
    samples = await engine.synthesize("Willkommen", "de")   # numpy float32 at 48 kHz
"""

from __future__ import annotations

import asyncio
import io
import shutil
import wave
from typing import Protocol, runtime_checkable

import numpy as np

from .errors import DriverMissing, HardwareError
from .tone import SAMPLE_RATE, tone_samples

# Our languages and the espeak-ng voice that speaks each (all six are in Debian's espeak-ng-data).
VOICES = {"de": "de", "en": "en-gb", "tr": "tr", "ar": "ar", "uk": "uk", "ru": "ru"}
# A little slower than espeak-ng's 175 words per minute: people listen to unfamiliar text here.
WORDS_PER_MINUTE = 150
MAX_TEXT = 8000  # the consent declaration is the longest text a screen has


@runtime_checkable
class SpeechEngine(Protocol):
    """Turns text in one of our languages into 48 kHz mono float samples (-1..1)."""

    async def synthesize(self, text: str, language: str) -> np.ndarray: ...


class SpeechFailed(HardwareError):
    """The speech engine could not say something (a missing voice, a crashed process)."""


class EspeakEngine:
    """espeak-ng as a subprocess per utterance (it starts in a few milliseconds)."""

    def __init__(self, program: str = "espeak-ng", words_per_minute: int = WORDS_PER_MINUTE) -> None:
        self.program = shutil.which(program)
        if self.program is None:
            raise DriverMissing("speech", program, "Install the Debian package espeak-ng "
                                "(scripts/system-packages.txt lists it).")
        self.words_per_minute = words_per_minute

    async def synthesize(self, text: str, language: str) -> np.ndarray:
        voice = VOICES.get(language)
        if voice is None:
            raise SpeechFailed(f"no espeak-ng voice for language {language!r}; known: {', '.join(VOICES)}")
        proc = await asyncio.create_subprocess_exec(
            self.program, "-v", voice, "-s", str(self.words_per_minute), "-b", "1", "--stdout",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        wav, err = await proc.communicate(text[:MAX_TEXT].encode("utf-8"))
        if proc.returncode != 0 or not wav:
            raise SpeechFailed(f"espeak-ng ({voice}) failed with code {proc.returncode}: "
                               f"{err.decode(errors='replace').strip()[:200]}")
        return wav_to_samples(wav)


class MissingSpeech:
    """Stands in when espeak-ng is not installed: each attempt says why, in the log, once per call."""

    def __init__(self, why: str) -> None:
        self.why = why

    async def synthesize(self, text: str, language: str) -> np.ndarray:
        raise SpeechFailed(self.why)


def speech_engine() -> SpeechEngine:
    """espeak-ng where installed; else a stand-in whose every use explains what to install."""
    try:
        return EspeakEngine()
    except DriverMissing as exc:
        return MissingSpeech(str(exc))


def wav_to_samples(wav: bytes) -> np.ndarray:
    """16-bit mono WAV at any rate -> float32 samples at 48 kHz (linear resampling is plenty for speech)."""
    with wave.open(io.BytesIO(wav)) as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    pcm = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    if rate == SAMPLE_RATE or pcm.size == 0:
        return pcm
    out = np.arange(int(pcm.size * SAMPLE_RATE / rate)) * (rate / SAMPLE_RATE)
    return np.interp(out, np.arange(pcm.size), pcm).astype(np.float32)


class RecordingSpeech:
    """The fake engine: remembers every (text, language) and "says" it as a short tone.

    The tone (0.1 s per call, 600 Hz at -20 dBFS before the volume) is enough for a test to
    measure it at the fake speaker without waiting for real speech to play out.
    """

    SECONDS = 0.1
    LEVEL_DBFS = -20.0

    def __init__(self) -> None:
        self.spoken: list[tuple[str, str]] = []
        self._changed = asyncio.Condition()

    async def synthesize(self, text: str, language: str) -> np.ndarray:
        async with self._changed:
            self.spoken.append((text, language))
            self._changed.notify_all()
        return tone_samples(600.0, self.LEVEL_DBFS, 0, int(self.SECONDS * SAMPLE_RATE))

    async def wait_for(self, fragment: str, *, after: int = 0, timeout: float = 10.0) -> str:
        """The first text from index ``after`` on that contains ``fragment`` (waits for it)."""
        def found() -> str | None:
            return next((t for t, _ in self.spoken[after:] if fragment in t), None)

        async def wait() -> str:
            async with self._changed:
                await self._changed.wait_for(lambda: found() is not None)
                return found()  # type: ignore[return-value]
        return await asyncio.wait_for(wait(), timeout)

    def text_since(self, index: int) -> str:
        return " | ".join(t for t, _ in self.spoken[index:])
