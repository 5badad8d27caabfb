"""A participant at home answers the survey once per call, and the hub's database cannot tell
whether they did (hub/guest_surveys.py; the promise: the survey cannot be joined to a call or a
person, by any join, log line or count)."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from hub.guest_surveys import SURVEY_WINDOW, SurveyAllowances
from hub.groupcall import guest_booth_id
from hub.state import CallRoute, InMemoryState
from hub.state_redis import RedisState
from tests.faults.test_security_links import _guest, _settled, home  # noqa: F401 (a fixture)
from videokiosk.clock import FakeClock

CALLS = ("c-home-0001", "c-home-0002")


def _rows_of(db, call_id: str) -> dict[str, list]:
    """Every row of every table that names ``call_id``, with the id itself blanked."""
    found = {}
    for table in db.table_names():
        rows = [{k: ("CALL" if v == call_id else v) for k, v in row.items()} for row in db[table].rows
                if call_id in row.values()]
        if rows:
            found[table] = rows
    return found


async def test_one_answer_per_call_and_the_database_holds_the_same_for_an_answered_call_as_for_the_other(home):
    url, parts, http, cookie, _ = home
    participant = next(parts.db["guest_passes"].rows)["participant_id"]
    guest = await _guest(http, url, cookie)
    for call_id in CALLS:  # two calls with the advisor, as after a dropped first one
        await parts.state.put_route(CallRoute(call_id, guest_booth_id(participant), "s-home0001", "anna", "advisor:x"))
        await guest.send({"type": "call_info", "call_id": call_id, "os": "Linux"})
    await _settled(guest)
    await guest.send({"type": "survey", "rating": 5})  # after the first call, say; the second goes unanswered
    await _settled(guest)
    assert _rows_of(parts.db, CALLS[0]) == _rows_of(parts.db, CALLS[1])  # answered or not: the same rows
    assert set(_rows_of(parts.db, CALLS[0])) == {"calls", "guest_pass_calls"}  # (and the rows are there)
    await guest.send({"type": "survey", "rating": 1})  # the other call's answer
    await guest.send({"type": "survey", "rating": 1})  # a third, for no call
    assert (await guest.expect("error"))["code"] == "not_allowed"
    await guest.ws.close()


@pytest.fixture(params=["memory", "redis"])
async def state(request):
    if request.param == "memory":
        yield InMemoryState()
        return
    server = request.getfixturevalue("redis_server")
    shared = await RedisState.connect(server.url, f"t{secrets.token_hex(4)}:")
    yield shared
    await shared.close()


async def test_an_allowance_is_taken_once_by_its_participant_within_the_window(state):
    clock = FakeClock()
    surveys, other_hub = SurveyAllowances(state, clock), SurveyAllowances(state, clock)
    await surveys.grant("p-1", "c-1111")
    await surveys.grant("p-1", "c-1111")  # the same call linked again: still one answer
    await surveys.grant("p-2", "c-2222")
    assert not await surveys.take("p-3")
    assert await other_hub.take("p-1") and not await surveys.take("p-1")
    await surveys.grant("p-1", "c-1111")  # linked once more (the page's socket came back): spent stays spent
    assert not await surveys.take("p-1")
    clock.advance(SURVEY_WINDOW + timedelta(seconds=1))
    assert not await surveys.take("p-2")  # too late
    await surveys.grant("p-1", "c-3333")  # and the expired one is swept: nothing piles up
    assert set(await state.records("guest_surveys")) == {"p-1 c-3333"}  # the spent one went too
