"""The hub's chat relay of last resort (hub/chat.py) over real sockets: each end reaches the other,
nobody else's call can be written into, bad lines are refused, the waiting-room note reaches its
booth only, and the hub keeps no trace of a line (its store, on SQLite or PostgreSQL; logs)."""

from __future__ import annotations

import logging

from .conftest import stored_bytes

WAITING = {"type": "waiting", "session_id": "s-0009abcd", "language": "ar", "kind": "walk_in"}
GERMAN = "Bitte halten Sie Ihren Bescheid bereit."
ARABIC = "هل يمكنك تكرار ذلك من فضلك؟"
NOTE = "Gleich geht es los."


def chat(call_id: str, sender: str, text: str, mid: str = "m-0001abcd") -> dict:
    return {"type": "chat", "call_id": call_id, "id": mid, "sender": sender, "text": text}


async def test_chat_relayed_both_ways_and_only_within_the_call(running_hub, hub_config, caplog):
    caplog.set_level(logging.DEBUG)
    anna, ben = await running_hub.advisor("anna"), await running_hub.advisor("ben")
    booth = await running_hub.booth()
    await booth.send(WAITING)
    await anna.expect("waiting_added")

    await anna.send({"type": "waiting_note", "session_id": WAITING["session_id"], "text": NOTE})
    assert (await booth.expect("waiting_note"))["text"] == NOTE
    await anna.send({"type": "waiting_note", "session_id": "s-gone0000", "text": NOTE})
    assert (await anna.expect("error"))["code"] == "unknown_session"

    await anna.send({"type": "admit", "session_id": WAITING["session_id"]})
    call_id = (await booth.expect("admitted"))["call_id"]

    await anna.send(chat(call_id, "advisor", GERMAN))
    assert (await booth.expect("chat"))["text"] == GERMAN
    await booth.send(chat(call_id, "booth", ARABIC, "m-0002abcd"))
    got = await anna.expect("chat")
    assert got["text"] == ARABIC and got["sender"] == "booth"
    await anna.send({"type": "screen_share", "call_id": call_id, "sharing": True})
    assert (await booth.expect("screen_share"))["sharing"] is True

    # Not someone else's call, not in someone else's name.
    await ben.send(chat(call_id, "advisor", "eingeschmuggelt"))
    assert (await ben.expect("error", ref="chat"))["code"] == "unknown_call"
    await booth.send(chat(call_id, "advisor", "ich bin die Beraterin"))
    assert (await booth.expect("error", ref="chat"))["code"] == "unknown_call"
    # Too long, control characters, empty: refused with a reason, the connection stays.
    for bad in ("x" * 501, "a\u0007b", "   "):
        await anna.send(chat(call_id, "advisor", bad))
        error = await anna.expect("error", ref="chat")
        assert error["code"] == "invalid" and bad not in error["message"]
    await anna.send(chat(call_id, "advisor", "noch da"))
    assert (await booth.expect("chat"))["text"] == "noch da"

    await anna.send({"type": "hangup", "call_id": call_id})
    await booth.expect("call_ended")
    await booth.send(chat(call_id, "booth", "zu spät", "m-0003abcd"))
    assert (await booth.expect("error", ref="chat"))["code"] == "unknown_call"
    for sock in (anna, ben, booth):
        await sock.close()

    texts = [GERMAN, ARABIC, NOTE, "noch da"]
    raw = stored_bytes(hub_config, running_hub.parts.db)
    assert not [t for t in texts if t.encode() in raw]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not [t for t in texts if t in logged]
