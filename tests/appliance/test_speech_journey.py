"""A customer who cannot see the screen completes the whole journey with the call button and the
speech alone: through the real daemon, gpiozero's MockFactory pins, the spoken text asserted at the
speech engine's input and its audio measured at the (fake) speaker."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from appliance.daemon import Booth
from appliance.store import BoothStore
from hw.tts import RecordingSpeech
from videokiosk.surveypool import SurveyPool

from .helpers import CannedChecks, booth_config, until

LONG_S = 0.3
HEARD_DBFS = -40.0  # a frame louder than this is speech, not silence


def make_booth(tmp_path, clock, speech, **hardware):
    config = booth_config(tmp_path)
    config = config.model_copy(update={"hardware": config.hardware.model_copy(
        update={"long_press_s": LONG_S, **hardware})})
    # Survey answers are written in batches of five (videokiosk/surveypool.py); here each one at once,
    # so the journey can show the button's choice arrived.
    store = BoothStore(config.store.path, clock=clock, survey_pool=SurveyPool(release_at=1))
    return Booth(config, clock=clock, store=store, checks=CannedChecks(), speech=speech)


@pytest.fixture
async def booth(tmp_path, clock):
    b = make_booth(tmp_path, clock, RecordingSpeech())
    await b.start(port=0)
    yield b
    await b.stop()


class Finger:
    """Presses the booth's call button through its GPIO pin and waits for what is said next."""

    def __init__(self, booth: Booth) -> None:
        self.booth = booth
        self.engine: RecordingSpeech = booth.speech.engine
        self.pin = booth.devices.pin_factory.pin(booth.devices.button_pin)
        self.button = booth.devices.button

    async def _down(self) -> int:
        said = len(self.engine.spoken)
        self.pin.drive_low()
        assert await asyncio.to_thread(self.button.wait_for_state, True, 5)
        return said

    async def _up(self) -> None:
        self.pin.drive_high()
        assert await asyncio.to_thread(self.button.wait_for_state, False, 5)

    async def short(self, expect: str) -> str:
        """Tap: the next choice is spoken."""
        said = await self._down()
        await self._up()
        return await self.engine.wait_for(expect, after=said)

    async def long(self, expect: str) -> str:
        """Hold until the choice is taken (``expect`` is said), then let go."""
        said = await self._down()
        try:
            return await self.engine.wait_for(expect, after=said)
        finally:
            await self._up()


async def heard(speaker, since: int, seconds: float = 0.1) -> float:
    """Wait until the speaker has played ``seconds`` more audio; its loudest frame since then."""
    await asyncio.wait_for(speaker.wait_played(since + int(seconds * 48_000)), 10)
    return speaker.loudest_since(since)


async def test_a_blind_customer_goes_from_start_to_goodbye_with_the_button_alone(booth, clock):
    session, speaker, engine = booth.session, booth.devices.speaker, booth.speech.engine
    finger = Finger(booth)

    # Start screen: speech is off; holding the call button turns it on and the screen is read.
    played = speaker.samples_played
    await finger.long("Videoberatung starten. Auswahl 1 von")
    assert session.access.speech and session.state == "idle"
    assert engine.spoken[0] == ("Willkommen", "de")
    assert "Vorlesen ist eingeschaltet. | Kurz drücken: nächste Auswahl. Lang drücken: auswählen." in engine.text_since(0)
    assert await heard(speaker, played) > HEARD_DBFS

    # A short press says the next choice: another language, in its own voice; choosing it
    # reads the screen again in that language. Back to German the same way.
    await finger.short("English")
    assert engine.spoken[-1] == ("English", "en")
    await finger.long("Start video consultation")
    assert session.language == "en" and ("Welcome", "en") in engine.spoken
    await finger.short("Deutsch")
    await finger.long("Videoberatung starten. Auswahl 1 von")
    assert session.language == "de"

    # Consent: read in full, then the choices; the volume goes up and the speech gets louder.
    await finger.long("Ich stimme zu. Auswahl 1 von 5")
    assert session.state == "consent"
    consent = engine.text_since(0)
    assert "Einwilligungserklärung" in consent and "nach 14 Tagen automatisch gelöscht" in consent
    await finger.short("Abbrechen. Auswahl 2")
    mark = speaker.samples_played  # measured from before the press: the clip may be over by the time we look
    await finger.short("Lauter. Auswahl 3")
    before = await heard(speaker, mark)
    mark = speaker.samples_played
    await finger.long("Lautstärke 4 von 5")
    assert session.access.volume == 4
    assert await heard(speaker, mark) > before + 1.5  # 0.6 -> 0.8 of full scale: +2.5 dB
    await finger.short("Leiser. Auswahl 4")
    await finger.short("Vorlesen ausschalten. Auswahl 5")
    await finger.short("Ich stimme zu. Auswahl 1")

    # Device check: results read once the check (and its test tone) is done.
    await finger.long("Weiter. Auswahl 1")
    assert session.state == "device_check"
    assert "Alles in Ordnung." in engine.text_since(0) and "Kamera: In Ordnung." in engine.text_since(0)

    # Waiting room, and the hub's news read as it comes.
    await finger.long("Sie befinden sich im virtuellen Wartebereich")
    assert session.state == "waiting"
    said = len(engine.spoken)
    await session.handle("advisor_informed")
    await engine.wait_for("wurde informiert, dass Sie sich im virtuellen Wartebereich befinden", after=said)
    assert "Aktuell wird weder Audio" not in engine.text_since(said)  # only what is new

    # The call: speech pauses (nothing is said), a short press does nothing, a long one ends it.
    await session.handle("admitted", call_id="c-1234abcd")
    await until(session, lambda s: s["state"] == "call")
    in_call = len(engine.spoken)
    await finger._down()
    await finger._up()
    await finger.long("Kurze Umfrage")
    assert session.state == "survey"
    survey_at = next(i for i, (t, _) in enumerate(engine.spoken) if "Kurze Umfrage" in t)
    assert survey_at == in_call, engine.text_since(in_call)  # nothing was said during the call

    # Survey: the rating by the button, then goodbye, then the wipe turns speech off again.
    assert "5 von 5. Auswahl 1 von 10." in engine.text_since(survey_at)
    await finger.short("4 von 5. Auswahl 2")
    await finger.long("Vielen Dank!")
    assert session.state == "goodbye"
    rows = list(booth.store.db.query("SELECT question, answer FROM survey"))
    assert {"question": "rating", "answer": "4"} in rows
    played = speaker.samples_played
    assert await heard(speaker, played) > HEARD_DBFS
    clock.advance(timedelta(seconds=booth.config.ui.goodbye_s * 2 + 1))  # speech doubles the limit
    await session.tick()
    assert session.state == "idle" and session.access.speech is False


@pytest.mark.parametrize("moment", ["survey", "goodbye"])
async def test_a_blind_customer_withdraws_after_the_call_with_the_button(booth, clock, moment):
    """The screens after the call offer "Einwilligung widerrufen" (the session's rows are kept for
    14 days); the spoken choices offer it too, and it takes effect at once."""
    session, engine, store = booth.session, booth.speech.engine, booth.store
    finger = Finger(booth)
    await session.handle("set_access", speech=True)
    await session.handle("start")
    await session.handle("accept")
    await until(session, lambda s: s.get("checks", {}).get("passed"))
    await session.handle("continue")
    await session.handle("set_details", name="Ada Lovelace", customer_number="987654")
    sid = session.session_id
    await session.handle("admitted", call_id="c-5678")
    said = len(engine.spoken)
    await session.handle("call_ended")
    await engine.wait_for("Kurze Umfrage", after=said)
    if moment == "goodbye":
        said = len(engine.spoken)
        await session.handle("survey_skip")
        await engine.wait_for("Einwilligung widerrufen. Auswahl 1 von 4", after=said)
    else:
        for n in range(2, 7):
            await finger.short(f"Auswahl {n} von 10")
        await finger.short("Einwilligung widerrufen. Auswahl 7 von 10")
    assert store.rows("consents") and store.rows("participants")
    await finger._down()  # held: the choice is taken (the wipe turns speech off, nothing more is said)
    try:
        await until(session, lambda s: s["state"] == "idle")
    finally:
        await finger._up()
    assert all(row["session_id"] != sid for table in ("consents", "participants", "technical") for row in store.rows(table))


async def test_speech_mode_doubles_the_limits_and_more_time_doubles_them_again(booth, clock):
    session, engine = booth.session, booth.speech.engine
    finger = Finger(booth)
    await finger.long("Videoberatung starten")
    await finger.long("Ich stimme zu. Auswahl 1")
    limit = booth.config.ui.idle_timeout_s
    clock.advance(timedelta(seconds=limit + 1))
    await session.tick()
    assert session.snapshot()["still_there"] is None  # twice the limit in speech mode
    clock.advance(timedelta(seconds=limit))
    await session.tick()
    still = session.snapshot()["still_there"]
    assert still["seconds_left"] == booth.config.ui.still_there_countdown_s * 2
    await engine.wait_for("Sind Sie noch da?")
    await engine.wait_for("Mehr Zeit. Auswahl 1 von 2")
    await finger.long("Ich stimme zu. Auswahl 1")  # "Mehr Zeit" chosen: back on the consent screen
    assert session.snapshot()["still_there"] is None and session.access.time_factor == 4
    clock.advance(timedelta(seconds=limit * 4 - 1))
    await session.tick()
    assert session.snapshot()["still_there"] is None and session.state == "consent"


async def test_a_plugged_in_headset_takes_the_speech(tmp_path, clock):
    b = make_booth(tmp_path, clock, RecordingSpeech(), headset_playback="hw:Headset")
    await b.start(port=0)
    try:
        b.devices.headset.present = True  # a headset in the socket
        speaker, headset = b.devices.speaker, b.devices.headset
        before = speaker.samples_played
        await Finger(b).long("Videoberatung starten")
        assert await heard(headset, 0) > HEARD_DBFS
        assert speaker.samples_played == before  # nothing from the hall speaker
    finally:
        await b.stop()


async def test_real_espeak_ng_speech_reaches_the_speaker(tmp_path, clock):
    """The real engine: espeak-ng's German voice, measured as sound at the speaker."""
    b = make_booth(tmp_path, clock, None)
    await b.start(port=0)
    try:
        speaker = b.devices.speaker
        pin = b.devices.pin_factory.pin(b.devices.button_pin)
        pin.drive_low()
        await until(b.session, lambda s: s["access"]["speech"])
        pin.drive_high()
        # "Willkommen" and the welcome sentence: more than a second of speech, clearly audible.
        assert await heard(speaker, 0, seconds=1.0) > -30.0
    finally:
        await b.stop()
