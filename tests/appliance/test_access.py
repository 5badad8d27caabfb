"""Accessibility settings belong to the session: chosen before the start, kept through the journey,
gone at the wipe; speech mode doubles every limit; the consent record names the easy text."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appliance.access import Access
from appliance.consent import ConsentCatalog
from appliance.errors import InvalidMessage
from appliance.session import Session
from appliance.uiprotocol import parse_message


async def test_settings_chosen_on_the_start_screen_are_kept_until_the_wipe(clock):
    session = Session(clock=clock)
    await session.handle("set_access", contrast=True, large_text=True, volume=5)
    await session.handle("start")
    await session.handle("accept")
    assert session.snapshot()["access"] == {**Access().as_dict(), "contrast": True, "large_text": True, "volume": 5}
    await session.handle("cancel")
    assert session.snapshot()["access"] == Access().as_dict()


async def test_speech_mode_doubles_the_idle_limit_and_the_goodbye(clock):
    session = Session(clock=clock)
    limit = session.ui.idle_timeout_s
    await session.handle("set_access", speech=True)
    await session.handle("start")
    clock.advance(timedelta(seconds=limit + 1))
    await session.tick()
    assert session.snapshot()["still_there"] is None
    clock.advance(timedelta(seconds=limit))
    await session.tick()
    assert session.snapshot()["still_there"]["seconds_left"] == session.ui.still_there_countdown_s * 2


async def test_without_speech_the_limits_are_as_configured(clock):
    session = Session(clock=clock)
    await session.handle("start")
    clock.advance(timedelta(seconds=session.ui.idle_timeout_s + 1))
    await session.tick()
    assert session.snapshot()["still_there"]["seconds_left"] == session.ui.still_there_countdown_s


async def test_the_consent_record_names_the_easy_text_and_its_hash(clock, store):
    catalog = ConsentCatalog()
    session = Session(clock=clock, store=store, consent_hash=catalog.hash)
    await session.handle("set_access", easy=True)
    await session.handle("start")
    await session.handle("accept")
    row = store.rows("consents")[0]
    assert (row["language"], row["text_hash"]) == ("de-LS", catalog.hash("de-LS"))


@pytest.mark.parametrize("data,message", [
    ({"volume": 9}, "volume"), ({"speech": "yes"}, "speech"), ({"shout": True}, "shout"),
])
def test_bad_settings_are_refused_with_a_clear_error(data, message):
    import json

    with pytest.raises(InvalidMessage, match=message):
        parse_message(json.dumps({"type": "intent", "event": "set_access", "data": data}))
    with pytest.raises(InvalidMessage, match=message):
        Access().update(data)
