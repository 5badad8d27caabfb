"""The home customer's page follows the booth's journey table (appliance/journey.py), served to it
as the generated ``kiosk_ui/journey.js`` instead of being written again in JavaScript (that the
copy is what the table generates: tests/test_pages.py)."""

from __future__ import annotations

import re
from pathlib import Path

from appliance.journey import TABLE, State

ROOT = Path(__file__).resolve().parents[2]
BROWSER = ROOT / "kiosk_ui" / "browser.js"


def block(text: str, name: str) -> str:
    """The body of ``const <name> = { ... };`` in browser.js."""
    match = re.search(rf"^const {name} = \{{\n(.*?)^\}};", text, re.M | re.S)
    assert match, f"browser.js has no const {name}"
    return match.group(1)


def test_the_home_page_moves_by_the_table_and_names_only_its_actions_and_states():
    text = BROWSER.read_text("utf-8")
    assert 'import { JOURNEY } from "./journey.js";' in text
    # The if-chain of intents is gone: the only intent home decides itself is its camera toggle.
    assert set(re.findall(r'event [!=]== "(\w+)"', text)) == {"set_camera"}
    actions = {action for _, action in TABLE.values() if action}
    home_actions = set(re.findall(r"^  (\w+): ", block(text, "ACTIONS"), re.M))
    assert home_actions and home_actions <= actions, f"not actions of the table: {home_actions - actions}"
    arrivals = set(re.findall(r"^  (\w+): ", block(text, "ARRIVALS"), re.M))
    assert arrivals and arrivals <= {str(state) for state in State}
