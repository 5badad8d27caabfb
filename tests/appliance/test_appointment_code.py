"""The booth's "Ich habe einen Termin" path in the session: code screen, hub verdict, waiting room."""

from __future__ import annotations

from appliance.session import Session, State

from .helpers import CannedChecks, RecordingHub, until


class CodeHub(RecordingHub):
    """A hub link that records code checks (the real hub is in tests/hub and tests/kiosk_ui)."""

    async def check_code(self, code):
        self.calls.append(("check_code", code))


async def test_a_good_code_leads_through_consent_to_an_appointment_in_the_waiting_room(clock, store):
    hub = CodeHub()
    session = Session(clock=clock, store=store, hub=hub, checks=CannedChecks())
    assert await session.handle("have_appointment")
    assert session.state is State.APPOINTMENT and session.snapshot()["appointment"]["error"] is None
    await session.handle("submit_code", code="k7m2-x9pq")
    await session.drain()
    assert ("check_code", "k7m2-x9pq") in hub.calls and session.snapshot()["appointment"]["checking"]
    # Summer time: 08:45 UTC is 10:45 in Berlin
    await session.handle("code_accepted", appointment_at="2026-06-01T08:45:00+00:00", language="de")
    assert session.state is State.CONSENT
    await session.handle("accept")
    await until(session, lambda snap: snap.get("checks", {}).get("passed"))
    await session.handle("continue")
    await session.drain()
    assert session.snapshot()["waiting"]["appointment_time"] == "10:45"
    ticket = next(data for name, data in hub.calls if name == "enter_waiting")
    assert ticket["kind"] == "appointment" and ticket["appointment_at"] == "2026-06-01T10:45:00+02:00"


async def test_refusals_are_shown_and_a_malformed_code_never_reaches_the_hub(clock):
    hub = CodeHub()
    session = Session(clock=clock, hub=hub)
    await session.handle("have_appointment")
    await session.handle("submit_code", code="<script>")
    await session.drain()
    assert session.snapshot()["appointment"]["error"] == "unknown" and not any(n == "check_code" for n, _ in hub.calls)
    await session.handle("code_refused", reason="too_early", opens_at="2026-01-05T09:30:00+00:00")
    assert session.snapshot()["appointment"] == {"checking": False, "error": "too_early", "opens_at": "10:30"}
    await session.handle("code_refused", reason="something-else")
    assert session.snapshot()["appointment"]["error"] == "unknown"
    assert not await session.handle("code_accepted", appointment_at=None)  # no time: refused, stays
    assert session.state is State.APPOINTMENT
    await session.handle("cancel")
    assert session.state is State.IDLE and session.session_id is None
