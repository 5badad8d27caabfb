"""The consent declaration in every offered language, and the version hash the store records.

The text lives in ``kiosk_ui/i18n/<lang>.json`` under ``consent`` (the page shows it from there);
the hash covers exactly what the customer read, so any change to the wording makes a new version.

Example::

    >>> catalog = ConsentCatalog()
    >>> catalog.hash("de").startswith("sha256:")
    True
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from kiosk_ui import I18N_DIR

from .access import EASY_LANGUAGE
from .config import SUPPORTED_LANGUAGES
from .errors import ConfigError

# The parts of the consent section a customer reads; button labels are not part of the promise.
CONSENT_PARTS = ("title", "intro", "points", "closing")
EASY_FILE = "easy/de.json"  # only the texts that differ from de.json


class ConsentCatalog:
    def __init__(self, i18n_dir: Path = I18N_DIR, languages: tuple[str, ...] = SUPPORTED_LANGUAGES) -> None:
        self._texts: dict[str, dict] = {}
        self._hashes: dict[str, str] = {}
        # Leichte Sprache is a further text of the German declaration, with its own version hash.
        variants = [(lang, i18n_dir / f"{lang}.json") for lang in languages]
        if "de" in languages:
            variants.append((EASY_LANGUAGE, i18n_dir / EASY_FILE))
        for lang, path in variants:
            try:
                consent = json.loads(path.read_text(encoding="utf-8"))["consent"]
                text = {part: consent[part] for part in CONSENT_PARTS}
            except (OSError, ValueError, KeyError) as exc:
                raise ConfigError(f"{path}: the consent text for {lang!r} is missing or broken ({exc})") from None
            canonical = json.dumps(text, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            self._texts[lang] = text
            self._hashes[lang] = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def hash(self, language: str) -> str:
        """Version hash of the consent text shown in ``language``."""
        return self._hashes[language]

    def text(self, language: str) -> dict:
        return dict(self._texts[language])
