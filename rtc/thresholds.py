"""The call-quality thresholds, written once: published practice for a two-person video call.

They grade a call (rtc/quality.py: good, fair, poor), judge the device check's measured rates
(appliance/session_parts.py: pass, warn, fail), and the pages use the same numbers: the advisor
console's live quality (hub/console/quality.js) and the home customer's device check
(kiosk_ui/browser_checks.js) import ``thresholds.js``, generated from this module by
``python -m videokiosk.pages`` (``tests/test_pages.py`` fails while a copy differs).

    >>> POOR_KBPS < GOOD_KBPS and GOOD_LOSS_PCT < POOR_LOSS_PCT
    True
"""

from __future__ import annotations

GOOD_KBPS = 750.0  # video at or above this (with little loss) is good; also a device check's "pass"
POOR_KBPS = 350.0  # below this it is poor; the floor a device check lets through ("warn" above it)
GOOD_LOSS_PCT = 5.0  # good: packet loss below this
POOR_LOSS_PCT = 10.0  # poor: packet loss above this


def javascript_module() -> str:
    """``thresholds.js``: the same numbers as an ES module for the pages."""
    values = {"GOOD_KBPS": GOOD_KBPS, "POOR_KBPS": POOR_KBPS, "GOOD_LOSS_PCT": GOOD_LOSS_PCT, "POOR_LOSS_PCT": POOR_LOSS_PCT}
    lines = ["// Generated from rtc/thresholds.py (python -m videokiosk.pages): edit the numbers there."]
    lines += [f"export const {name} = {value:g};" for name, value in values.items()]
    return "\n".join(lines) + "\n"
