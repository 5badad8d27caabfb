"""The quality thresholds are written once (rtc/thresholds.py); the pages' copies are generated."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# That the copies are what rtc/thresholds.py generates: tests/test_pages.py.
USERS = [ROOT / "kiosk_ui" / "browser_checks.js", ROOT / "hub" / "console" / "quality.js"]


def test_the_pages_import_them_instead_of_writing_numbers():
    for path in USERS:
        text = path.read_text("utf-8")
        assert 'from "./thresholds.js"' in text
        assert not re.search(r"\b(350|750)\b", text), f"{path.name} writes a threshold itself"
