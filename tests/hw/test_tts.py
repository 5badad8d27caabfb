"""espeak-ng speaks every one of our languages, offline, as 48 kHz samples."""

from __future__ import annotations

import json

import pytest

from hw.levels import rms_dbfs
from hw.tts import VOICES, EspeakEngine, MissingSpeech, SpeechFailed
from kiosk_ui import I18N_DIR


@pytest.mark.parametrize("language", sorted(VOICES))
async def test_espeak_ng_says_each_language(language):
    title = json.loads((I18N_DIR / f"{language}.json").read_text(encoding="utf-8"))["idle"]["title"]
    samples = await EspeakEngine().synthesize(title, language)
    assert samples.size > 0.3 * 48_000 and rms_dbfs(samples) > -35.0


async def test_an_unknown_language_or_a_missing_engine_is_a_clear_error():
    with pytest.raises(SpeechFailed, match="no espeak-ng voice for language 'xx'"):
        await EspeakEngine().synthesize("Hallo", "xx")
    with pytest.raises(SpeechFailed, match="espeak-ng"):
        await MissingSpeech("speech needs espeak-ng").synthesize("Hallo", "de")


async def test_text_goes_to_espeak_on_stdin_not_as_an_option():
    # A text that looks like an option is spoken, not obeyed.
    samples = await EspeakEngine().synthesize("--version", "en")
    assert samples.size > 0
