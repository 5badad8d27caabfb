"""Translations: complete in six languages, the German contract strings, a consent text that says
everything the code keeps, and no user-facing text in code."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from appliance.consent import ConsentCatalog
from hw.hints import HINTS
from kiosk_ui import I18N_DIR, STATIC_DIR

LANGS = ("de", "en", "tr", "ar", "uk", "ru")


def load(lang: str) -> dict:
    return json.loads((I18N_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def strings(node):
    """Every text in a catalog (or part of one), depth first."""
    if isinstance(node, dict):
        for v in node.values():
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)
    elif isinstance(node, str):
        yield node


def shape(node):
    if isinstance(node, dict):
        return {k: shape(v) for k, v in node.items()}
    if isinstance(node, list):
        return [shape(v) for v in node]
    return type(node).__name__


@pytest.mark.parametrize("lang", LANGS)
def test_every_language_has_every_text(lang):
    assert shape(load(lang)) == shape(load("de"))
    assert load(lang)["meta"]["dir"] == ("rtl" if lang == "ar" else "ltr")
    assert (STATIC_DIR / "assets" / f"flag-{lang}.svg").exists()


def test_german_contract_strings():
    de = load("de")
    assert de["idle"]["start"] == "Videoberatung starten"
    assert de["consent"]["title"] == "Einwilligungserklärung"
    assert (de["consent"]["accept"], de["consent"]["cancel"]) == ("Ich stimme zu", "Abbrechen")
    assert (de["check"]["continue"], de["check"]["recheck"]) == ("Weiter", "Erneut prüfen")
    assert de["waiting"]["title"] == "Sie befinden sich im virtuellen Wartebereich"
    assert de["waiting"]["no_media"] == "Aktuell wird weder Audio noch Video übertragen."
    assert de["waiting"]["informed"] == (
        "Ihr Berater / Ihre Beraterin wurde informiert, dass Sie sich im virtuellen Wartebereich befinden.")
    assert de["still"]["title"] == "Sind Sie noch da?"
    assert de["survey"]["title"] == "Kurze Umfrage"
    access = de["access"]  # issue 18: the settings bar and speech mode
    assert (access["speech"], access["contrast"], access["large_text"]) == ("Vorlesen", "Kontrast", "Große Schrift")
    assert (access["louder"], access["quieter"], de["still"]["more_time"]) == ("Lauter", "Leiser", "Mehr Zeit")
    # The invitation's own words (issue 19), as the "Mein Videotermin" guide shows them
    assert de["waiting"]["appointment_at"] == "Ihr Videotermin findet am {date} um {time} Uhr statt."
    assert de["waiting"]["stay_home"] == "Bitte bleiben Sie zum jetzigen Zeitpunkt auf dieser Seite."
    assert de["idle"]["devices_home"] == "Nicht vergessen: Kamera und Mikrofon aktivieren."


# DEVELOPERS.md, "The consent is a promise the code keeps": each point, in the German text.
PROMISES = {
    "device check": ["Kamera, Mikrofon und Lautsprecher", "Upload- und Download-Geschwindigkeit"],
    "stored fields": ["Kundennummer", "Name", "Rolle", "Dolmetscher", "gesetzliche Vertretung", "IP-Adresse",
                      "Betriebssystem", "Gerät", "Browser", "Übertragungsqualität", "wann und in welcher Sprache"],
    "14 days": ["nach 14 Tagen automatisch gelöscht"],
    "anonymous statistics and survey": ["Statistiken enthalten nichts", "Umfrage", "freiwillig und anonym",
                                        "nicht mit Ihrem Gespräch oder Ihrer Person verbunden"],
    "further participants": ["nur teil, wenn das vorher mit Ihnen abgesprochen ist"],
    "withdrawal": ["jederzeit widerrufen", "Wirkung für die Zukunft", "sofort gelöscht"],
    "refusal costs nothing": ["keinen Nachteil", "Nur die Videoberatung ist dann nicht möglich"],
    "no recording": ["Nichts wird aufgezeichnet", "Im Wartebereich werden weder Bild noch Ton übertragen"],
    "no access to own devices": ["nicht auf Ihre eigenen Geräte", "Handy"],
}


@pytest.mark.parametrize("promise", sorted(PROMISES))
def test_the_consent_text_states_every_promise(promise):
    consent = load("de")["consent"]
    text = " ".join([consent["intro"], *consent["points"], consent["closing"]])
    for phrase in PROMISES[promise]:
        assert phrase in text, f"{promise}: {phrase!r} missing from the consent text"


def test_translations_keep_the_numbers_of_the_promise():
    for lang in LANGS:
        points = load(lang)["consent"]["points"]
        assert len(points) == len(load("de")["consent"]["points"])
        assert "14" in points[2] and "IP" in points[1], lang


def test_every_device_hint_is_translated():
    device_hints = [k for k in HINTS if k.split(".")[1] in ("camera", "microphone", "speaker") and HINTS[k]]
    for lang in LANGS:
        hints = load(lang)["check"]["hints"]
        missing = [k for k in device_hints if k not in hints]
        assert not missing, (lang, missing)


def test_consent_hash_is_per_language_and_changes_with_the_wording(tmp_path):
    catalog = ConsentCatalog()
    assert len({catalog.hash(lang) for lang in LANGS}) == len(LANGS)
    copy = tmp_path / "i18n"
    shutil.copytree(I18N_DIR, copy)
    de = load("de")
    de["consent"]["points"][2] = de["consent"]["points"][2].replace("14", "15")
    (copy / "de.json").write_text(json.dumps(de, ensure_ascii=False))
    assert ConsentCatalog(copy).hash("de") != catalog.hash("de")
    changed_wording = ConsentCatalog(copy).hash("de")
    de["consent"]["accept"] = "OK"  # a button label is not part of the declaration
    (copy / "de.json").write_text(json.dumps(de, ensure_ascii=False))
    assert ConsentCatalog(copy).hash("de") == changed_wording


def test_no_user_facing_text_in_code():
    words = {text for text in strings(load("de")) if len(text) >= 6 and " " in text}
    for script in STATIC_DIR.glob("*.js"):
        source = script.read_text(encoding="utf-8")
        assert not [w for w in words if w in source], script.name
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in html and not re.search(r"\son[a-z]+\s*=", html)
    assert "user-scalable" not in html and "maximum-scale" not in html  # text may be zoomed
