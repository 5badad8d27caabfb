"""The booth's journey as a table: (state, event) -> (next state, action).

Read this file to know what the booth does; :class:`appliance.session.Session` executes it. An
action names a ``Session._do_<action>`` method; it runs before the state changes and may refuse
(the event is then ignored and logged). None means "just move".

The home customer's page (kiosk_ui/browser.js, in the customer's own browser) follows the same
table: ``kiosk_ui/journey.js`` is generated from this module by ``python -m videokiosk.pages``
(``tests/test_pages.py`` fails while the copy differs).

Example::

    >>> TABLE[(State.IDLE, "start")]
    (<State.CONSENT: 'consent'>, 'open')
"""

from __future__ import annotations

import json
from enum import StrEnum


class State(StrEnum):
    IDLE = "idle"
    APPOINTMENT = "appointment"  # "Ich habe einen Termin": typing the appointment code
    CONSENT = "consent"
    DEVICE_CHECK = "device_check"
    WAITING = "waiting"
    CALL = "call"
    SURVEY = "survey"
    GOODBYE = "goodbye"
    OUT_OF_SERVICE = "out_of_service"  # a technician's call or a device missing too long (appliance/service_mode.py)


S = State
TABLE: dict[tuple[State, str], tuple[State, str | None]] = {
    (S.IDLE, "start"): (S.CONSENT, "open"),
    (S.IDLE, "have_appointment"): (S.APPOINTMENT, "open_code"),
    (S.APPOINTMENT, "submit_code"): (S.APPOINTMENT, "check_code"),  # the hub checks it
    (S.APPOINTMENT, "code_accepted"): (S.CONSENT, "accept_code"),
    (S.APPOINTMENT, "code_refused"): (S.APPOINTMENT, "refuse_code"),
    (S.CONSENT, "accept"): (S.DEVICE_CHECK, "record_consent"),
    (S.DEVICE_CHECK, "check_result"): (S.DEVICE_CHECK, "note_check"),
    (S.DEVICE_CHECK, "checks_done"): (S.DEVICE_CHECK, "finish_checks"),
    (S.DEVICE_CHECK, "recheck"): (S.DEVICE_CHECK, "run_checks"),
    (S.DEVICE_CHECK, "continue"): (S.WAITING, "enter_waiting"),
    (S.WAITING, "advisor_informed"): (S.WAITING, "mark_informed"),
    (S.WAITING, "queue_update"): (S.WAITING, "update_queue"),
    (S.WAITING, "set_details"): (S.WAITING, "update_details"),
    (S.WAITING, "admitted"): (S.CALL, "start_call"),
    (S.WAITING, "declined"): (S.GOODBYE, "declined"),
    (S.CALL, "call_ended"): (S.SURVEY, "call_over"),
    (S.CALL, "end_call"): (S.SURVEY, "hang_up"),  # "Gespräch beenden", or the button held long
    (S.CALL, "set_muted"): (S.CALL, "set_muted"),  # "Stummschalten" / "Stummschaltung aufheben"
    (S.SURVEY, "survey_submit"): (S.GOODBYE, "store_survey"),
    (S.SURVEY, "survey_skip"): (S.GOODBYE, None),
    (S.GOODBYE, "goodbye_done"): (S.IDLE, "wipe"),
}
_BUSY = (S.APPOINTMENT, S.CONSENT, S.DEVICE_CHECK, S.WAITING, S.CALL, S.SURVEY, S.GOODBYE)
for _state in _BUSY:
    TABLE[(_state, "cancel")] = (S.IDLE, "wipe")  # "Abbrechen" works everywhere
    TABLE[(_state, "reset")] = (S.IDLE, "wipe")  # timeout, hot-unplug, operator
    TABLE[(_state, "inactivity")] = (_state, "ask_still_there")
    TABLE[(_state, "still_here")] = (_state, "dismiss_still_there")
# Consent exists from the device check on, and its rows outlive the call: the goodbye screen (after
# the survey, or after the advisor declined) still offers the withdrawal, as every screen before it.
for _state in (S.DEVICE_CHECK, S.WAITING, S.CALL, S.SURVEY, S.GOODBYE):
    TABLE[(_state, "withdraw")] = (S.IDLE, "withdraw")
for _state in State:
    TABLE[(_state, "set_language")] = (_state, "set_language")
    TABLE[(_state, "activity")] = (_state, None)
    TABLE[(_state, "hub_link")] = (_state, "note_hub_link")  # hub link down/up: shown, no move
    TABLE[(_state, "set_access")] = (_state, "set_access")  # speech, volume, contrast, text size, Leichte Sprache

# Out of service from anywhere: from a busy state only when a technician forced it after the
# warning, or a device was missing long enough (appliance/service_mode.py decides); the customer's
# session is wiped as by a reset. Back in service always starts from the idle screen.
for _state in State:
    TABLE[(_state, "out_of_service")] = (S.OUT_OF_SERVICE, "go_out_of_service")
TABLE[(S.OUT_OF_SERVICE, "back_in_service")] = (S.IDLE, "back_in_service")

EVENTS = frozenset(event for _, event in TABLE)
# Events a person causes at the booth: they prove someone is there. They are also exactly the
# intents the kiosk page may send (appliance/uiprotocol.py gives each its data's shape).
TOUCH_EVENTS = frozenset({
    "start", "have_appointment", "submit_code", "accept", "cancel", "continue", "recheck", "end_call", "set_muted", "survey_submit", "survey_skip",
    "withdraw", "set_language", "set_details", "still_here", "activity", "set_access",
})


def javascript_module() -> str:
    """``journey.js``: the table as an ES module, ``JOURNEY[state][event] = [next state, action]``."""
    rows: dict[str, dict[str, list[str | None]]] = {}
    for (state, event), (target, action) in sorted(TABLE.items()):
        rows.setdefault(str(state), {})[event] = [str(target), action]
    lines = ["// Generated from appliance/journey.py (python -m videokiosk.pages): edit the table there.",
             "export const JOURNEY = {"]
    for state, events in rows.items():
        lines += [f"  {json.dumps(state)}: {{", *(f"    {json.dumps(e)}: {json.dumps(row)}," for e, row in events.items()), "  },"]
    return "\n".join([*lines, "};"]) + "\n"
