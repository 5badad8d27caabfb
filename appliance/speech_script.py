"""What the booth says on each screen, and the choices the call button steps through.

The words are the page's own (``kiosk_ui/i18n/<lang>.json``, with ``easy/de.json`` laid over the
German for Leichte Sprache), so screen and speech never disagree. :func:`describe` turns a session
snapshot into phrases; :func:`options` into the choices a short press steps through and a long
press picks. Each phrase has a key, so a later snapshot of the same screen says only what is new
("Ihr Berater ... wurde informiert") and a countdown is not read out every second.

Example::

    >>> book = Phrasebook()
    >>> [p.text for p in describe(book, {"state": "idle", "language": "de", "access": {"easy": False}})][0]
    'Willkommen'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk_ui import I18N_DIR

from .access import EASY_LANGUAGE, VOLUME_STEPS
from .config import SUPPORTED_LANGUAGES
from .consent import EASY_FILE
from .journey import TABLE
from .session_parts import SURVEY_RATINGS

_ESPEAK_LANGUAGE = {EASY_LANGUAGE: "de"}  # Leichte Sprache is read with the German voice


@dataclass(frozen=True)
class Phrase:
    key: str  # what it says, for telling new from already said
    text: str
    language: str  # one of SUPPORTED_LANGUAGES: the voice that reads it


@dataclass(frozen=True)
class Option:
    label: Phrase
    event: str
    data: dict[str, Any] = field(default_factory=dict)
    then: tuple[tuple[str, dict[str, Any]], ...] = ()  # further session events, in order

    def steps(self) -> list[tuple[str, dict[str, Any]]]:
        return [(self.event, self.data), *self.then]


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(base.get(key, {}), value) if isinstance(value, dict) else value
    return out


class Phrasebook:
    """The kiosk's translations, loaded once (they hold no personal data)."""

    def __init__(self, i18n_dir: Path = I18N_DIR, languages: tuple[str, ...] = SUPPORTED_LANGUAGES) -> None:
        self._catalogs = {lang: json.loads((i18n_dir / f"{lang}.json").read_text(encoding="utf-8"))
                          for lang in languages}
        if "de" in self._catalogs:
            easy = json.loads((i18n_dir / EASY_FILE).read_text(encoding="utf-8"))
            self._catalogs[EASY_LANGUAGE] = _merge(self._catalogs["de"], easy)
        self.languages = tuple(languages)

    def phrase(self, text_language: str, key: str, **values: Any) -> Phrase:
        node: Any = self._catalogs.get(text_language) or self._catalogs[self.languages[0]]
        for part in key.split("."):
            node = node.get(part, "") if isinstance(node, dict) else ""
        text = str(node) if not isinstance(node, list) else " ".join(node)
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        suffix = ":" + ",".join(f"{k}={v}" for k, v in sorted(values.items())) if values else ""
        return Phrase(key + suffix, text, _ESPEAK_LANGUAGE.get(text_language, text_language))


def text_language(snapshot: dict[str, Any]) -> str:
    easy = snapshot.get("access", {}).get("easy") and snapshot["language"] == "de"
    return EASY_LANGUAGE if easy else snapshot["language"]


def describe(book: Phrasebook, snapshot: dict[str, Any]) -> list[Phrase]:
    """Everything worth hearing on the screen this snapshot shows (nothing during the call)."""
    lang = text_language(snapshot)
    say = lambda key, **values: book.phrase(lang, key, **values)  # noqa: E731
    state = snapshot["state"]
    out: list[Phrase] = []
    if snapshot.get("hub_connected") is False:
        out.append(say("common.hub_reconnecting"))
    if snapshot.get("error") == "store_error":
        out.append(say("common.store_error"))
    if state == "idle":
        out += [say("idle.title"), say("idle.lead")]
    elif state == "appointment":
        out += [say("appointment.title"), say("appointment.lead")]
    elif state == "consent":
        out += [say("consent.title"), say("consent.intro"), say("consent.points"), say("consent.closing")]
    elif state == "device_check":
        out += _check_phrases(say, snapshot["checks"])
    elif state == "waiting":
        out += _waiting_phrases(say, snapshot["waiting"])
    elif state == "survey":
        out += [say("survey.title"), say("survey.lead"), say("survey.q_rating")]
    elif state == "goodbye":
        declined = snapshot.get("goodbye", {}).get("declined")
        out += [say("goodbye.declined")] if declined else []
        out += [say("goodbye.title"), say("goodbye.lead")]
    if snapshot.get("still_there"):
        out += [say("still.title"), say("still.countdown", seconds=snapshot["still_there"]["seconds_left"])]
    return out


def _check_phrases(say, checks: dict[str, Any]) -> list[Phrase]:
    # While the check runs, its test tone has the speaker; the result is read once it is done.
    if checks["running"]:
        return []
    out = [say("check.title")]
    for name in checks["order"]:
        result = checks["results"].get(name, {})
        status = result.get("status", "pending")
        out.append(Phrase(f"check.{name}={status}", f"{say(f'check.names.{name}').text}: "
                          f"{say(f'check.status.{status}').text}.", say("check.title").language))
        if result.get("hint"):
            out.append(say(f"check.hints.{result['hint']}"))
    out.append(say("check.passed" if checks["passed"] else "check.failed"))
    return out


def _waiting_phrases(say, waiting: dict[str, Any]) -> list[Phrase]:
    out = [say("waiting.title"), say("waiting.no_media")]
    if waiting.get("advisor_informed"):
        out.append(say("waiting.informed"))
    if waiting.get("appointment_time"):
        out.append(say("waiting.appointment", time=waiting["appointment_time"]))
    if waiting.get("position"):
        out.append(say("waiting.position", position=waiting["position"]))
    wait_s = waiting.get("estimated_wait_s")
    if wait_s is not None:
        out.append(say("waiting.wait_short") if wait_s < 60 else say("waiting.wait_minutes", minutes=round(wait_s / 60)))
    return out


def options(book: Phrasebook, snapshot: dict[str, Any]) -> list[Option]:
    """The choices of this screen in the order a short press steps through them."""
    lang = text_language(snapshot)
    say = lambda key, **values: book.phrase(lang, key, **values)  # noqa: E731
    state = snapshot["state"]
    if snapshot.get("still_there"):
        return [Option(say("still.more_time"), "still_here", {"more_time": True}),
                Option(say("still.yes"), "still_here")]
    choices: list[Option] = []
    if state == "idle":
        choices.append(Option(say("idle.start"), "start"))
        for other in snapshot.get("languages", []):  # each language says its own name, in its voice
            if other != lang:
                choices.append(Option(book.phrase(other, "meta.name"), "set_access", {"easy": False},
                                      then=(("set_language", {"language": other}),)))
        if "de" in snapshot.get("languages", []) and lang != EASY_LANGUAGE:
            choices.append(Option(book.phrase(EASY_LANGUAGE, "meta.name"), "set_language", {"language": "de"},
                                  then=(("set_access", {"easy": True}),)))
    elif state == "appointment":
        choices.append(Option(say("appointment.back"), "cancel"))
    elif state == "consent":
        choices += [Option(say("consent.accept"), "accept"), Option(say("consent.cancel"), "cancel")]
    elif state == "device_check":
        checks = snapshot["checks"]
        if checks["running"]:
            return []
        if checks["passed"]:
            choices.append(Option(say("check.continue"), "continue"))
        choices += [Option(say("check.recheck"), "recheck"), Option(say("common.cancel"), "cancel")]
    elif state == "waiting":
        choices.append(Option(say("common.cancel"), "cancel"))
    elif state == "survey":
        choices += [Option(say("survey.rating_n", n=n), "survey_submit", {"rating": n})
                    for n in reversed(SURVEY_RATINGS)]
        choices.append(Option(say("survey.skip"), "survey_skip"))
    elif state != "goodbye":  # the call (a long press ends it), out of service: nothing to choose
        return []
    # Wherever the journey takes a withdrawal, it is spoken too, after the screen's own choices: the
    # spoken survey once left it out although its screen showed the button.
    if (state, "withdraw") in TABLE:
        choices.append(Option(say("common.withdraw"), "withdraw"))
    volume = snapshot.get("access", {}).get("volume", 0)
    choices += [Option(say("access.louder"), "set_access", {"volume": min(volume + 1, VOLUME_STEPS[-1])}),
                Option(say("access.quieter"), "set_access", {"volume": max(volume - 1, VOLUME_STEPS[0])}),
                Option(say("access.speech_off"), "set_access", {"speech": False})]
    return choices
