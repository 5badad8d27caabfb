"""Every screen is read in the chosen language (each of ours has an espeak-ng voice), state changes
are read as they happen, and speech stops for the call."""

from __future__ import annotations

import asyncio
import json

import pytest

from appliance.session import Session
from appliance.speech import SpeechGuide
from hw.audio_fake import CountingSpeaker
from hw.tts import VOICES, RecordingSpeech
from hw.voice import VoiceOutput
from kiosk_ui import I18N_DIR

from .helpers import CannedChecks, until


def catalog(language: str) -> dict:
    return json.loads((I18N_DIR / f"{language}.json").read_text(encoding="utf-8"))


@pytest.fixture
def guided(clock):
    session = Session(clock=clock, checks=CannedChecks())
    engine = RecordingSpeech()
    output = VoiceOutput(CountingSpeaker())
    SpeechGuide(session, engine, output)  # it follows the session from now on
    return session, engine, output


@pytest.mark.parametrize("language", sorted(VOICES))
async def test_each_screen_is_read_in_the_chosen_language(guided, language):
    session, engine, output = guided
    texts = catalog(language)
    await session.handle("set_language", language=language)
    await session.handle("set_access", speech=True)
    await engine.wait_for(texts["idle"]["start"])
    assert engine.spoken[0] == (texts["idle"]["title"], language)
    await session.handle("start")
    await engine.wait_for(texts["consent"]["accept"])
    assert (texts["consent"]["title"], language) in engine.spoken
    await session.handle("accept")
    await until(session, lambda s: s["checks"]["passed"])
    await engine.wait_for(texts["check"]["passed"])
    await session.handle("continue")
    said = len(engine.spoken)
    await session.handle("advisor_informed")
    informed = await engine.wait_for(texts["waiting"]["informed"], after=said)
    assert (informed, language) in engine.spoken
    assert all(lang == language for _, lang in engine.spoken[said:])


async def test_leichte_sprache_is_read_with_the_german_voice(guided):
    session, engine, output = guided
    easy = json.loads((I18N_DIR / "easy" / "de.json").read_text(encoding="utf-8"))
    await session.handle("set_access", speech=True, easy=True)
    await session.handle("start")
    await engine.wait_for(easy["consent"]["title"])
    assert (easy["consent"]["title"], "de") in engine.spoken


async def test_speech_pauses_for_the_call_and_comes_back_for_the_survey(guided):
    session, engine, output = guided
    await session.handle("set_access", speech=True)
    await session.handle("start")
    await session.handle("accept")
    await until(session, lambda s: s["checks"]["passed"])
    await session.handle("continue")
    await engine.wait_for("Abbrechen. Auswahl 1")  # the waiting room, read to its first choice
    speaker = output.speaker
    await asyncio.wait_for(speaker.wait_played(speaker.samples_played + 960), 10)  # it is being said
    assert output.speaking
    await session.handle("admitted", call_id="c-1")
    assert not output.speaking  # cut off at once: the advisor speaks now
    said = len(engine.spoken)
    await session.handle("set_muted", muted=True)  # things happen in the call; nothing is said
    await session.handle("end_call")
    await engine.wait_for("Kurze Umfrage", after=said)
    assert engine.spoken[said][0] == "Kurze Umfrage"
