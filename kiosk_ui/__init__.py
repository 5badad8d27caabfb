"""The kiosk's web front-end: plain HTML/CSS/JS the booth's Chromium shows full-screen.

It renders only the state the daemon sends over ``/ws`` and sends intents back; all text comes
from ``i18n/<language>.json``. The booth server serves :data:`STATIC_DIR`.

Example::

    >>> (STATIC_DIR / "index.html").exists()
    True
"""

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent
I18N_DIR = STATIC_DIR / "i18n"
