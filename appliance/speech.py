"""Speech mode: the booth reads each screen aloud and the call button alone operates it.

:class:`SpeechGuide` follows the session's snapshots. With speech on (the "Vorlesen" button, or
the call button held long on the start screen) it says each screen's heading, text and state
changes in the chosen language, then the first choice and how to choose. With speech on, a short
press of the call button says the next choice and a long press picks it; in the call a long press
ends the call (as without speech) and the guide is silent so the advisor can be heard.

The words come from :mod:`appliance.speech_script`, the voice from a :class:`hw.tts.SpeechEngine`,
the ear from :class:`hw.voice.VoiceOutput` (headset if plugged in, else the speaker).

Example::

    guide = SpeechGuide(session, EspeakEngine(), VoiceOutput(devices.speaker, devices.headset))
    guide.long_press()     # on the start screen: speech on
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np

from hw.errors import HardwareError
from hw.tone import SAMPLE_RATE
from hw.tts import SpeechEngine
from hw.voice import VoiceOutput

from .errors import ApplianceError
from .speech_script import Option, Phrase, Phrasebook, describe, options

log = logging.getLogger("videokiosk.speech")
PAUSE_S = 0.25  # between phrases: a breath, so headings and choices do not run together


class SpeechGuide:
    def __init__(self, session: Any, engine: SpeechEngine, output: VoiceOutput,
                 phrasebook: Phrasebook | None = None) -> None:
        self.session = session
        self.engine = engine
        self.output = output
        self.book = phrasebook or Phrasebook(languages=tuple(session.ui.languages))
        self._screen: tuple | None = None  # (state, text language): a new one is read from the top
        self._said: set[str] = set()
        self._choices: list[Option] = []
        self._focus = 0
        self._generation = 0
        self._tasks: set[asyncio.Task] = set()
        session.subscribe(self._follow)

    @property
    def on(self) -> bool:
        return bool(self.session.access.speech)

    # -- the call button (called on the loop) ---------------------------------------------------

    def short_press(self) -> bool:
        """Next choice, spoken. False when speech is off (the button then does what it always did)."""
        if not self.on or self.session.state == "call":
            return False
        if self.session.snapshot().get("still_there"):
            self._spawn(self.session.handle("still_here"))  # any press answers "Sind Sie noch da?"
            return True
        if self._choices:
            self._focus = (self._focus + 1) % len(self._choices)
            self._speak([self._option_phrase()])
        return True

    def long_press(self) -> bool:
        """Pick the choice last spoken; on the start screen with speech off, turn speech on."""
        if self.session.state == "call":
            return False  # the daemon ends the call, speech or not
        if not self.on:
            if self.session.state != "idle":
                return False
            self._spawn(self.session.handle("set_access", speech=True))
            return True
        if self._choices:
            self._spawn(self._choose(self._choices[self._focus]))
        return True

    # -- following the session ----------------------------------------------------------------

    def _follow(self, snapshot: dict[str, Any]) -> None:
        if not snapshot["access"]["speech"]:
            self._screen, self._said, self._choices = None, set(), []
            self.output.silence()
            return
        if snapshot["state"] == "call":  # the advisor speaks now
            self._screen, self._said, self._choices = ("call",), set(), []
            self._generation += 1
            self.output.silence()
            return
        phrases = describe(self.book, snapshot)
        choices = options(self.book, snapshot)
        screen = (snapshot["state"], snapshot["language"], snapshot["access"]["easy"])
        fresh = screen != self._screen
        new = phrases if fresh else [p for p in phrases if p.key not in self._said]
        if new and new[0].key.startswith("still.countdown"):
            new = []  # the countdown ticking: said once with its title
        first_time = self._screen is None
        self._screen = screen
        self._said = {p.key for p in phrases}
        labels = [c.label.key for c in choices]
        if fresh or labels != [c.label.key for c in self._choices]:
            self._choices, self._focus = choices, 0
            if choices:
                if first_time:  # how it works, once: the customer just switched speech on
                    text_lang = self.session.text_language()
                    new += [self.book.phrase(text_lang, "access.speech_on"), self.book.phrase(text_lang, "access.how")]
                new.append(self._option_phrase())
        if new:
            self._speak(new)

    def _option_phrase(self) -> Phrase:
        option = self._choices[self._focus]
        lang = self.session.text_language()
        template = self.book.phrase(lang, "access.option", n=self._focus + 1, count=len(self._choices))
        text = template.text.replace("{label}", option.label.text)
        if option.label.language != template.language:  # a language's own name, said in its own voice
            return option.label
        return Phrase(f"option:{option.label.key}", text, template.language)

    async def _choose(self, option: Option) -> None:
        for event, data in option.steps():
            if not await self.session.handle(event, **data):
                return
        if option.event == "set_access" and "volume" in option.data:
            self._speak([self.book.phrase(self.session.text_language(), "access.volume",
                                          volume=self.session.access.volume)])

    # -- saying it ----------------------------------------------------------------------------

    def _speak(self, phrases: list[Phrase]) -> None:
        self._generation += 1
        self._spawn(self._say(self._generation, [p for p in phrases if p.text.strip()]))

    async def _say(self, generation: int, phrases: list[Phrase]) -> None:
        pieces = []
        try:
            for phrase in phrases:
                pieces.append(await self.engine.synthesize(phrase.text, phrase.language))
                pieces.append(np.zeros(int(PAUSE_S * SAMPLE_RATE), dtype=np.float32))
        except HardwareError as exc:
            log.error("speech failed: %s", exc)
        if generation != self._generation or not pieces:
            return  # something newer is to be said, or the call began
        try:
            await self.output.say(np.concatenate(pieces), self.session.access.gain)
        except (HardwareError, ApplianceError) as exc:
            log.error("speech could not be played: %s", exc)

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        self.output.silence()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
