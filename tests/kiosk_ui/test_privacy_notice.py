"""The data-protection notice the consent screen opens in place (issue 19) is a real notice, in
every language the kiosk and the home page offer: it names the controller, the purpose and legal
basis, exactly the consented data, that nothing is recorded, the 14 days, the anonymous survey,
the withdrawal (by the button the page really has) and the customer's rights."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

I18N = Path(__file__).parents[2] / "kiosk_ui" / "i18n"
LANGUAGES = ("de", "en", "tr", "ar", "uk", "ru")

# Per language: the words each promise must be made in (the consent's own list, DEVELOPERS.md).
PROMISES = {
    "de": {"controller": "Verantwortlich", "legal basis": "DSGVO", "no recording": "Keine Aufzeichnung",
           "14 days": "14 Tagen", "anonymous survey": "anonym", "rights": "Aufsichtsbehörde"},
    "en": {"controller": "Controller", "legal basis": "GDPR", "no recording": "No recording",
           "14 days": "14 days", "anonymous survey": "anonymous", "rights": "supervisory authority"},
    "tr": {"controller": "Sorumlu", "legal basis": "GVKT", "no recording": "Kayıt yok",
           "14 days": "14 gün", "anonymous survey": "anonim", "rights": "denetim makamına"},
    "ar": {"controller": "الجهة المسؤولة", "legal basis": "اللائحة العامة لحماية البيانات", "no recording": "لا تسجيل",
           "14 days": "14 يومًا", "anonymous survey": "مجهول الهوية", "rights": "سلطة رقابية"},
    "uk": {"controller": "Відповідальна", "legal basis": "ЗРЗД", "no recording": "Без запису",
           "14 days": "14 днів", "anonymous survey": "анонімне", "rights": "наглядового органу"},
    "ru": {"controller": "Ответственное", "legal basis": "ОРЗД", "no recording": "Без записи",
           "14 days": "14 дней", "anonymous survey": "анонимный", "rights": "надзорный орган"},
}


def catalog(language: str) -> dict:
    return json.loads((I18N / f"{language}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_a_complete_privacy_notice(language):
    texts = catalog(language)
    notice = texts["consent"]["privacy"]
    paragraphs = notice.split("\n\n")
    assert len(paragraphs) >= 8, "one paragraph per topic: controller, purpose, data, recording, 14 days, survey, withdrawal, rights"
    missing = [promise for promise, words in PROMISES[language].items() if words not in notice]
    assert not missing, f"{language}: the notice does not say {missing}"
    assert f"{texts['common']['withdraw']}" in notice  # withdrawal by the button the page has
    assert texts["consent"]["privacy_title"]
    assert "{" not in notice  # no placeholder left for a customer to read


def test_every_language_lists_the_same_topics_as_the_german_notice():
    german = len(catalog("de")["consent"]["privacy"].split("\n\n"))
    assert {language: len(catalog(language)["consent"]["privacy"].split("\n\n")) for language in LANGUAGES} == \
        dict.fromkeys(LANGUAGES, german)
