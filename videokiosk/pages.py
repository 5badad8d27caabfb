"""The pages' copies of rules written once in Python, generated: the pages are static files.

After changing a source below, write its pages' copies again (from the checkout)::

    python -m videokiosk.pages

``tests/test_pages.py`` fails while a copy differs from its source.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from appliance import journey
from rtc import thresholds

ROOT = Path(__file__).resolve().parents[1]
# Each generated file (relative to the checkout) and what writes it.
GENERATED: dict[str, Callable[[], str]] = {
    "kiosk_ui/thresholds.js": thresholds.javascript_module,  # the home device check
    "hub/console/thresholds.js": thresholds.javascript_module,  # the console's live quality
    "kiosk_ui/journey.js": journey.javascript_module,  # the home customer's journey
}


def main(root: Path = ROOT) -> int:
    for path, generate in GENERATED.items():
        (root / path).write_text(generate(), "utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
