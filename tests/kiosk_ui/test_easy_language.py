"""Leichte Sprache: a further text of consent, device check, waiting room and survey, written by its
rules (short sentences, one statement each, no passive), and a consent text with its own hash."""

from __future__ import annotations

import json
import re

import pytest

from appliance.access import EASY_LANGUAGE
from appliance.consent import EASY_FILE, ConsentCatalog
from kiosk_ui import I18N_DIR

from .test_i18n import PROMISES, load, strings

EASY = json.loads((I18N_DIR / EASY_FILE).read_text(encoding="utf-8"))
SECTIONS = ("consent", "check", "waiting", "survey")
MAX_WORDS = 12  # a short sentence
# Passive and its stand-ins: "wird geprüft", "werden gelöscht", "wurde informiert", "ist zu ...".
PASSIVE = re.compile(r"\b(wird|werden|wurde|wurden|worden)\b", re.IGNORECASE)


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!:…])\s+", text.strip()) if s]


@pytest.mark.parametrize("section", SECTIONS)
def test_each_section_has_an_easy_text_of_the_same_shape(section):
    de = load("de")[section]
    for key, value in EASY[section].items():
        assert key in de and type(value) is type(de[key]), (section, key)
    if section == "consent":
        assert len(EASY["consent"]["points"]) == len(de["points"])


@pytest.mark.parametrize("section", SECTIONS)
def test_short_sentences_one_statement_each_no_passive(section):
    for text in strings(EASY[section]):
        assert not PASSIVE.search(text), (section, text)
        assert ";" not in text, (section, text)  # one statement per sentence
        for sentence in sentences(text):
            words = len(sentence.replace("{", " {").split())
            assert words <= MAX_WORDS, (section, sentence, words)


def test_the_easy_consent_still_states_every_promise():
    consent = EASY["consent"]
    text = " ".join([consent["intro"], *consent["points"], consent["closing"]])
    needed = {"Kamera", "Mikrofon", "Lautsprecher", "Kundennummer", "Namen", "Rolle", "IP-Adresse", "14 Tagen",
              "löschen", "Statistik", "nicht antworten", "nichts auf", "Handy", "zurücknehmen", "keinen Nachteil"}
    assert PROMISES  # the German list is the source; these are its easy-language words
    missing = [word for word in needed if word not in text]
    assert not missing, missing


def test_the_easy_consent_has_its_own_version_hash():
    catalog = ConsentCatalog()
    assert catalog.hash(EASY_LANGUAGE) != catalog.hash("de")
    assert catalog.hash(EASY_LANGUAGE).startswith("sha256:")
