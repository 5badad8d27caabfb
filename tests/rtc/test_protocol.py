"""Every signalling message validates where it enters; nothing bad raises anything but ProtocolError."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtc import protocol as p
from rtc.errors import ProtocolError


def test_round_trip_of_a_call_message():
    offer = p.Offer(call_id="c-abcd1234", sdp="v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n")
    assert p.parse(p.encode(offer), p.BOOTH_TO_HUB) == offer


@pytest.mark.parametrize("accept", [p.BOOTH_TO_HUB, p.HUB_TO_BOOTH, p.ADVISOR_TO_HUB, p.HUB_TO_ADVISOR])
def test_every_accepted_type_is_a_known_message(accept):
    assert accept <= set(p.MESSAGES)


def test_direction_matters():
    with pytest.raises(ProtocolError) as err:
        p.parse('{"type": "admitted", "session_id": "s-0001", "call_id": "c-0001"}', p.BOOTH_TO_HUB)
    assert err.value.code == "unknown_type"


def test_oversized_is_refused_before_parsing():
    with pytest.raises(ProtocolError) as err:
        p.parse("[" * (p.MAX_MESSAGE_BYTES + 1), p.ADVISOR_TO_HUB)
    assert err.value.code == "too_large"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(p.MESSAGES)), st.dictionaries(st.sampled_from(
    ["session_id", "call_id", "sdp", "candidate", "message", "language", "kind", "faults", "name", "reason", "x"]),
    json_values, max_size=5))
def test_fuzzed_messages_are_accepted_or_refused_cleanly(kind, fields):
    raw = json.dumps({"type": kind, **fields})
    for accept in (p.BOOTH_TO_HUB, p.ADVISOR_TO_HUB, p.HUB_TO_BOOTH, p.HUB_TO_ADVISOR):
        try:
            p.parse(raw, accept)
        except ProtocolError as exc:
            assert exc.code in {"too_large", "malformed", "unknown_type", "invalid"}
            assert p.error_for(exc).message


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_garbage_is_refused_cleanly(raw):
    with pytest.raises(ProtocolError):
        p.parse(raw, p.ADVISOR_TO_HUB)


@pytest.mark.parametrize("raw", ['{"type": "\\ud800"}', '{"type": "admit", "\\udfff": 1, "session_id": "s-0001"}'])
def test_lone_surrogates_get_a_proper_error_reply(raw):
    with pytest.raises(ProtocolError) as err:
        p.parse(raw, p.ADVISOR_TO_HUB)
    reply = p.error_for(err.value)
    assert reply.code in ("unknown_type", "invalid") and p.encode(reply)
