"""Hypothesis strategies for hostile input: signalling messages (rtc.protocol) and kiosk-page
messages (appliance.uiprotocol), mostly almost right, some plain garbage, a few right by chance.

Example::

    @given(st.lists(signalling_texts(), min_size=20, max_size=40))
    def test_...(batch): ...
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

from appliance.uiprotocol import INTENTS
from rtc.protocol import MESSAGES

# Values a field could plausibly hold, and values it should never hold.
plausible = st.one_of(
    st.integers(0, 2**40).map(lambda n: f"s-{n:x}"),  # ids (cheaper to draw than from_regex)
    st.sampled_from(["de", "en", "ar", "walk_in", "appointment", "ended", "timeout", "cancel", "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\n", ""]),
    st.integers(-3, 70),
    st.booleans(),
    st.none(),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=8))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=4)
# Oversized strings are built from a drawn length: drawing 600 characters one by one is slow.
field_values = st.one_of(plausible, plausible, json_values, st.integers(100, 70_000).map(lambda n: "x" * n))


def _dumps(obj) -> str:
    return json.dumps(obj, allow_nan=True)


# Strategies are built once: building one inside a draw costs its validation on every draw.
_KINDS = st.sampled_from(sorted(MESSAGES))
_BODIES = {
    kind: st.dictionaries(st.sampled_from([*(n for n in model.model_fields if n != "type"), "unexpected"]),
                          field_values, max_size=len(model.model_fields))
    for kind, model in MESSAGES.items()
}
_ONE_IN_FOUR = st.integers(0, 3)
_EVENTS = st.one_of(st.sampled_from(sorted(INTENTS)), st.text(max_size=12))
_DATA = st.one_of(st.none(), json_values, st.dictionaries(
    st.sampled_from(["language", "name", "customer_number", "rating", "easy", "again", "unexpected"]), field_values, max_size=3))
_UI_TYPES = st.sampled_from(["intent", "intent", "intent", "offer", "state", ""])
_SDP = st.one_of(plausible, st.text(max_size=40))


@st.composite
def _almost_signalling(draw) -> str:
    kind = draw(_KINDS)
    body = draw(_BODIES[kind])
    type_value = draw(json_values) if draw(_ONE_IN_FOUR) == 0 else kind
    return _dumps({"type": type_value, **body})


@st.composite
def _almost_intent(draw) -> str:
    message: dict = {"type": draw(_UI_TYPES), "event": draw(_EVENTS), "data": draw(_DATA)}
    if message["type"] == "offer":
        message["sdp"] = draw(_SDP)
    if draw(_ONE_IN_FOUR) == 0:
        del message["data"]
    return _dumps(message)


garbage = st.one_of(
    st.text(max_size=64),
    json_values.map(_dumps),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
    st.just("{" * 5000),  # deep nesting must not hurt
)


_SIGNALLING = st.one_of(_almost_signalling(), _almost_signalling(), _almost_signalling(), garbage)
_UI = st.one_of(_almost_intent(), _almost_intent(), _almost_intent(), garbage)


def signalling_texts() -> st.SearchStrategy[str]:
    return _SIGNALLING


def ui_texts() -> st.SearchStrategy[str]:
    return _UI


_TOKENS = ['"', ",", "}", "{", "]", "[", ":", "null", "\\", "\x00", "\\u00e9", "\\ud800", "1e999", "-", "é", "🙂"]


def _char(rng) -> str:
    """Any character, lone surrogates included (test_fuzz.wire turns those into what a socket carries)."""
    return chr(rng.randrange(0x30000))


def mutants(text: str, rng, count: int = 16) -> list[str]:
    """``count`` cheap variants of ``text`` (truncated, bytes flipped, tokens inserted, keys dropped
    or retyped): each hypothesis example seeds many messages, so 100,000 stay fast to check."""
    out = []
    try:
        base = json.loads(text)
    except ValueError:
        base = None
    kinds = sorted(MESSAGES) + sorted(INTENTS)
    for _ in range(count):
        how = rng.randrange(7 if isinstance(base, dict) and base else 4)
        n = len(text)
        if how == 0:
            out.append(text[: rng.randrange(n + 1)])
        elif how == 1:
            i = rng.randrange(n + 1)
            out.append(text[:i] + _char(rng) + text[i + 1:])
        elif how == 2:
            i = rng.randrange(n + 1)
            out.append(text[:i] + rng.choice(_TOKENS) + text[i:])
        elif how == 3:
            i, j = sorted((rng.randrange(n + 1), rng.randrange(n + 1)))
            out.append(text[:j] + text[i:j] + text[j:])
        else:
            changed = dict(base)
            key = rng.choice(sorted(changed))
            if how == 4:
                del changed[key]
            elif how == 5:
                changed[key] = rng.choice([None, True, -1, 2**70, 1.5, "", "x" * rng.randrange(2000), [], {}, [changed.get(key)]])
            else:
                changed["type" if rng.random() < 0.7 else "event"] = rng.choice(kinds)
            out.append(_dumps(changed))
    return out
