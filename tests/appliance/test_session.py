"""The state machine: the table, guards, hub/call hooks, timers on a FakeClock, logging."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from appliance.config import UISection
from appliance.errors import InvalidMessage, UnknownEvent
from appliance.hublink_base import NullCallHandler
from appliance.session import TABLE, Session, State
from appliance.store import BoothStore

from .helpers import CannedChecks, RecordingHub, until


def make(clock, store=None, status="pass", **kw):
    ui = UISection(idle_timeout_s=60, still_there_countdown_s=30, waiting_timeout_s=600, goodbye_s=5)
    hub = RecordingHub()
    calls = NullCallHandler()
    session = Session(ui, clock=clock, store=store, hub=hub, calls=calls, checks=CannedChecks(status),
                      consent_hash=lambda lang: f"sha256:{lang}", **kw)
    return session, hub, calls


async def to_waiting(session):
    await session.handle("start")
    await session.handle("accept")
    await until(session, lambda s: s.get("checks", {}).get("passed"))
    assert await session.handle("continue")
    await session.drain()


async def test_three_touches_reach_the_waiting_room(clock, store):
    session, hub, _ = make(clock, store)
    await to_waiting(session)
    assert session.state is State.WAITING
    snap = session.snapshot()
    assert snap["waiting"]["advisor_informed"] is False
    assert hub.calls == [("enter_waiting", {"session_id": session.session_id, "language": "de", "kind": "walk_in"})]


async def test_continue_is_refused_until_every_check_passes(clock, store):
    session, hub, _ = make(clock, store, status="fail")
    await session.handle("start")
    await session.handle("accept")
    await until(session, lambda s: not s["checks"]["running"] and len(s["checks"]["results"]) == 5)
    assert not await session.handle("continue")
    assert session.state is State.DEVICE_CHECK
    session.checks.status = "pass"
    await session.handle("recheck")
    await until(session, lambda s: s["checks"]["passed"])
    assert await session.handle("continue")


async def test_hub_callbacks_drive_the_waiting_room_and_the_call(clock, store):
    session, hub, calls = make(clock, store)
    await to_waiting(session)
    await session.handle("advisor_informed")
    await session.handle("queue_update", position=2, estimated_wait_s=240)
    waiting = session.snapshot()["waiting"]
    assert (waiting["advisor_informed"], waiting["position"], waiting["estimated_wait_s"]) == (True, 2, 240)
    await session.handle("set_details", name="  Ada   Lovelace ", customer_number="123A")
    await session.drain()
    assert hub.calls[-1] == ("update_waiting", {"name": "Ada Lovelace", "customer_number": "123A"})
    assert store.rows("participants")[0]["name"] == "Ada Lovelace"
    assert not await session.handle("admitted")  # no call id: refused, nothing breaks
    await session.handle("admitted", call_id="c-1")
    await session.drain()
    assert (session.state, calls.running) == (State.CALL, "c-1")
    await session.handle("end_call")
    await session.drain()
    assert (session.state, calls.running) == (State.SURVEY, None)
    assert ("end_call", None) in hub.calls
    await session.handle("survey_submit", rating=5, easy=True, again=False)
    assert session.state is State.GOODBYE
    clock.advance(timedelta(seconds=5))
    await session.tick()
    assert session.state is State.IDLE and session.session_id is None


async def test_the_survey_is_skipped_with_one_touch_and_stores_nothing(clock, store):
    session, _, _ = make(clock, store)
    await to_waiting(session)
    await session.handle("admitted", call_id="c-3")
    await session.handle("call_ended")
    assert session.state is State.SURVEY
    assert await session.handle("survey_skip")
    assert session.state is State.GOODBYE and store.rows("survey") == []


async def test_declined_goes_to_goodbye_with_the_message(clock):
    session, hub, _ = make(clock)
    await to_waiting(session)
    await session.handle("declined", message="Bitte kommen Sie morgen wieder.")
    assert session.snapshot()["goodbye"] == {"declined": True, "message": "Bitte kommen Sie morgen wieder."}


@pytest.mark.parametrize("state_events", [
    ["start"], ["start", "accept"], ["start", "accept", "*waiting"],
])
async def test_cancel_from_every_state_wipes_memory(clock, store, state_events):
    session, hub, _ = make(clock, store)
    for ev in state_events:
        if ev == "*waiting":
            await until(session, lambda s: s["checks"]["passed"])
            await session.handle("continue")
            await session.handle("set_details", name="Ada")
        else:
            await session.handle(ev)
    await session.handle("set_language", language="tr")
    await session.handle("cancel")
    await session.drain()
    snap = session.snapshot()
    assert snap["state"] == "idle" and snap["language"] == "de" and session.session_id is None
    assert "Ada" not in repr(snap) and "Ada" not in repr(vars(session))
    if "*waiting" in state_events:
        assert hub.calls[-1] == ("leave_waiting", "cancel")


async def test_cancel_in_call_stops_the_call(clock):
    session, hub, calls = make(clock)
    await to_waiting(session)
    await session.handle("admitted", call_id="c-2")
    await session.handle("cancel")
    await session.drain()
    assert calls.running is None and ("end_call", None) in hub.calls and session.state is State.IDLE


async def test_inactivity_asks_then_resets_after_the_countdown(clock, store):
    session, hub, _ = make(clock, store)
    await session.handle("start")
    clock.advance(timedelta(seconds=59))
    await session.tick()
    assert session.snapshot()["still_there"] is None
    clock.advance(timedelta(seconds=1))
    await session.tick()
    assert session.snapshot()["still_there"] == {"seconds_left": 30}
    await session.handle("still_here")
    assert session.snapshot()["still_there"] is None and session.state is State.CONSENT
    clock.advance(timedelta(seconds=60))
    await session.tick()
    clock.advance(timedelta(seconds=29))
    await session.tick()
    assert session.snapshot()["still_there"] == {"seconds_left": 1}
    clock.advance(timedelta(seconds=1))
    await session.tick()
    assert session.state is State.IDLE
    assert store.rows("daily_stats")[0]["timeouts"] == 1


async def test_waiting_room_has_its_own_longer_timeout_and_calls_have_none(clock):
    session, hub, _ = make(clock)
    await to_waiting(session)
    clock.advance(timedelta(seconds=599))
    await session.tick()
    assert session.snapshot()["still_there"] is None
    await session.handle("admitted", call_id="c")
    clock.advance(timedelta(hours=2))
    await session.tick()
    assert session.state is State.CALL and session.snapshot()["still_there"] is None


async def test_withdraw_deletes_the_sessions_rows_at_once(clock, store):
    session, hub, _ = make(clock, store)
    await to_waiting(session)
    await session.handle("set_details", name="Ada", customer_number="42")
    sid = session.session_id
    other = "someone-else"
    store.record_consent(other, "en", "h")
    assert store.rows("technical") and store.rows("participants")
    await session.handle("withdraw")
    await session.drain()
    for table in ("consents", "participants", "technical"):
        assert all(row["session_id"] != sid for row in store.rows(table))
    assert [r["session_id"] for r in store.rows("consents")] == [other]
    assert hub.calls[-1] == ("leave_waiting", "withdraw")
    assert session.state is State.IDLE


async def test_withdraw_during_the_call_ends_it_and_tells_the_hub(clock, store):
    session, hub, calls = make(clock, store)
    await to_waiting(session)
    sid = session.session_id
    await session.handle("admitted", call_id="c-9")
    await session.handle("withdraw")
    await session.drain()
    assert hub.calls[-2:] == [("leave_waiting", "withdraw"), ("end_call", None)]  # the hub hears it first
    assert calls.running is None and session.state is State.IDLE
    assert all(r["session_id"] != sid for r in store.rows("consents"))


async def test_a_withdrawal_on_a_disk_that_takes_no_write_still_ends_the_call_and_tells_the_hub(clock, store):
    """A full disk or a failing SD card (the store's connection made read-only): the call ends
    and the hub deletes what it holds at once; the booth's rows go with the next write its disk takes."""
    session, hub, calls = make(clock, store)
    await to_waiting(session)
    sid = session.session_id
    await session.handle("admitted", call_id="c-9")
    store.db.execute("PRAGMA query_only = ON")
    assert await session.handle("withdraw")
    await session.drain()
    assert hub.calls[-2:] == [("leave_waiting", "withdraw"), ("end_call", None)]
    assert calls.running is None and session.state is State.IDLE
    assert [r["session_id"] for r in store.rows("consents")] == [sid]  # the disk took nothing
    store.db.execute("PRAGMA query_only = OFF")
    await session.handle("start")
    await session.handle("accept")  # the next customer's consent: the first write the disk takes
    assert [r["session_id"] for r in store.rows("consents")] == [session.session_id] != [sid]


@pytest.mark.parametrize("how", ["after the survey", "after the advisor declined"])
async def test_withdraw_on_the_goodbye_screen_deletes_the_rows_and_tells_the_hub(clock, store, how):
    session, hub, _ = make(clock, store)
    await to_waiting(session)
    sid = session.session_id
    if how == "after the survey":
        await session.handle("admitted", call_id="c-9")
        await session.handle("call_ended")
        await session.handle("survey_skip")
    else:
        await session.handle("declined")
    assert session.state is State.GOODBYE and store.rows("consents")
    assert await session.handle("withdraw")
    await session.drain()
    assert session.state is State.IDLE and hub.calls[-1] == ("leave_waiting", "withdraw")
    assert all(r["session_id"] != sid for table in ("consents", "participants", "technical") for r in store.rows(table))


async def test_a_touch_on_the_goodbye_screen_holds_it(clock, store):
    """The goodbye counts from the last touch: a customer who touched "Einwilligung widerrufen"
    there is still reading the question when the screen's own time is up."""
    session, _, _ = make(clock, store)
    await to_waiting(session)
    await session.handle("declined")
    goodbye_s = session.ui.goodbye_s
    clock.advance(timedelta(seconds=goodbye_s * 0.75))
    await session.handle("activity")  # the touch that opens "Einwilligung widerrufen?"
    clock.advance(timedelta(seconds=goodbye_s * 0.75))
    await session.tick()
    assert session.state is State.GOODBYE
    clock.advance(timedelta(seconds=goodbye_s * 0.5))
    await session.tick()
    assert session.state is State.IDLE


async def test_withdraw_is_not_offered_before_consent(clock):
    session, _, _ = make(clock)
    await session.handle("start")
    assert not await session.handle("withdraw")
    assert session.state is State.CONSENT


async def test_consent_record_comes_first_with_hash_and_language(clock, store):
    session, _, _ = make(clock, store)
    await session.handle("set_language", language="ar")
    await session.handle("start")
    assert session.snapshot()["language"] == "ar"
    await session.handle("accept")
    [row] = store.rows("consents")
    assert (row["session_id"], row["language"], row["text_hash"]) == (session.session_id, "ar", "sha256:ar")


async def test_unknown_and_out_of_place_events(clock):
    session, _, _ = make(clock)
    with pytest.raises(UnknownEvent, match="unknown event 'explode'"):
        await session.handle("explode")
    assert not await session.handle("admitted", call_id="x")  # a late hub message in idle
    assert not await session.handle("set_language", language="xx")
    await to_waiting(session)
    with pytest.raises(InvalidMessage):
        await session.handle("set_details", name="x" * 500)
    assert session.state is State.WAITING


async def test_transitions_are_logged_with_the_random_id_only(clock, store, caplog):
    caplog.set_level(logging.INFO, logger="videokiosk.session")
    session, _, _ = make(clock, store)
    await to_waiting(session)
    sid = session.session_id
    await session.handle("set_details", name="Ada Lovelace", customer_number="987654")
    await session.handle("cancel")
    text = caplog.text
    assert f"session {sid}: device_check --continue--> waiting" in text
    assert "Ada" not in text and "987654" not in text


def test_table_is_total_over_states_and_events_are_named():
    states = {s for s, _ in TABLE} | {t for t, _ in TABLE.values()}
    assert states == set(State)
    for required in ("start", "accept", "cancel", "continue", "recheck", "advisor_informed", "queue_update",
                     "admitted", "declined", "call_ended", "end_call", "survey_submit", "survey_skip",
                     "goodbye_done", "withdraw", "set_language", "set_details", "inactivity", "still_here", "reset"):
        assert any(ev == required for _, ev in TABLE), required
    for state in State:
        if state not in (State.IDLE, State.OUT_OF_SERVICE):  # out of service holds no customer to cancel
            assert TABLE[(state, "cancel")][0] is State.IDLE


async def test_a_disk_that_takes_no_write_logs_the_same_for_a_survey_answered_or_skipped(clock, tmp_path, caplog):
    """No line marks whether the survey was answered (videokiosk/surveypool.py), on a full or
    read-only disk too: the survey's own count failing said "session ...: store write failed"."""
    seen = {}
    for n, event, answers in ((0, "survey_submit", {"rating": 4, "easy": True}), (1, "survey_skip", {})):
        store = BoothStore(tmp_path / f"booth{n}.db", clock=clock)
        session, _, _ = make(clock, store)
        await to_waiting(session)
        await session.handle("admitted", call_id="c-9")
        await session.handle("call_ended")
        store.db.execute("PRAGMA query_only = ON")  # the disk takes no write from here on
        caplog.clear()
        caplog.set_level(logging.DEBUG)
        assert await session.handle(event, **answers)
        await session.drain()
        seen[event] = [r.getMessage().replace(session.session_id, "<sid>") for r in caplog.records]
        store.close()
    assert seen["survey_submit"] == seen["survey_skip"]
