"""The pages' copies of rules written once in Python, generated: the pages are static files.

After changing a source below, write its pages' copies again (from the checkout)::

    python -m videokiosk.pages

``tests/test_pages.py`` fails while a copy differs from its source.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from appliance import journey
from rtc import thresholds
from rtc.protocol import LANGUAGES

ROOT = Path(__file__).resolve().parents[1]


def languages_module() -> str:
    """``languages.js``: the languages a customer can choose, as the booth and the hub know them."""
    return ("// Generated from rtc/protocol.py LANGUAGES (python -m videokiosk.pages): edit the list there.\n"
            f"export const LANGUAGES = {json.dumps(list(LANGUAGES))};\n")



# Each generated file (relative to the checkout) and what writes it.
GENERATED: dict[str, Callable[[], str]] = {
    "kiosk_ui/thresholds.js": thresholds.javascript_module,  # the home device check
    "hub/console/thresholds.js": thresholds.javascript_module,  # the console's live quality
    "kiosk_ui/journey.js": journey.javascript_module,  # the home customer's journey
    "kiosk_ui/languages.js": languages_module,  # the home customer's language choice
}


def main(root: Path = ROOT) -> int:
    for path, generate in GENERATED.items():
        (root / path).write_text(generate(), "utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
