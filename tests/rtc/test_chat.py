"""rtc/chat.py and appliance/chat.py without a browser: the negotiated data channel between two
real aiortc peers, the hub fallback, duplicates, the end of a call, links and their QR codes."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from aiortc import RTCPeerConnection

from appliance.chat import find_links, line_message, qr_rows
from appliance.errors import InvalidMessage
from appliance.uiprotocol import parse_message
from rtc import protocol as p
from rtc.chat import CallChat, ChatLine, ChatRefused


async def _connect(offerer: RTCPeerConnection, answerer: RTCPeerConnection) -> None:
    await offerer.setLocalDescription(await offerer.createOffer())
    await answerer.setRemoteDescription(offerer.localDescription)
    await answerer.setLocalDescription(await answerer.createAnswer())
    await offerer.setRemoteDescription(answerer.localDescription)


async def test_lines_travel_the_negotiated_channel_both_ways():
    booth_pc, advisor_pc = RTCPeerConnection(), RTCPeerConnection()
    via_hub: list[p.Message] = []
    heard: list[ChatLine] = []
    got_line = asyncio.Event()

    async def hub(msg: p.Message) -> None:
        via_hub.append(msg)

    def on_line(line: ChatLine) -> None:
        heard.append(line)
        got_line.set()

    chat = CallChat(hub, on_line=on_line)
    chat.attach(booth_pc, "c-test0001")
    # The other side creates "its" channel with the same id: no in-band announcement needed.
    advisor = advisor_pc.createDataChannel("chat", negotiated=True, id=p.CHAT_CHANNEL_ID)
    received: asyncio.Queue[str] = asyncio.Queue()
    advisor.on("message", received.put_nowait)
    opened = asyncio.Event()
    advisor.on("open", opened.set)
    try:
        await _connect(booth_pc, advisor_pc)
        await asyncio.wait_for(opened.wait(), 15)
        while not chat.direct:
            await asyncio.sleep(0.02)
        await chat.send("Guten Tag, ich höre Sie gut.")
        wire = p.parse(await asyncio.wait_for(received.get(), 10), p.DATA_CHANNEL)
        assert wire.sender == "booth" and wire.text == "Guten Tag, ich höre Sie gut." and via_hub == []

        got_line.clear()
        advisor.send(p.encode(p.Chat(call_id="c-test0001", id="m-adv00001", sender="advisor", text="أهلا وسهلا")))
        await asyncio.wait_for(got_line.wait(), 10)
        assert heard[-1].text == "أهلا وسهلا"
        # Junk on the channel is dropped; so is a line claiming to come from the booth.
        advisor.send("{not json")
        advisor.send(p.encode(p.Chat(call_id="c-test0001", id="m-adv00002", sender="booth", text="x")))
        got_line.clear()
        advisor.send(p.encode(p.Chat(call_id="c-test0001", id="m-adv00003", sender="advisor", text="ok")))
        await asyncio.wait_for(got_line.wait(), 10)
        assert [line.text for line in chat.lines] == ["Guten Tag, ich höre Sie gut.", "أهلا وسهلا", "ok"]
    finally:
        await booth_pc.close()
        await advisor_pc.close()


async def test_without_a_channel_lines_go_via_the_hub_and_vanish_with_the_call():
    sent: list[p.Message] = []
    shares: list[bool] = []
    ended = []

    async def hub(msg: p.Message) -> None:
        sent.append(msg)

    chat = CallChat(hub, on_share=shares.append, on_end=lambda: ended.append(True))
    with pytest.raises(ChatRefused):
        await chat.send("hallo")  # no call
    chat.call_id = "c-test0002"
    await chat.send("Können Sie mich hören?")
    assert isinstance(sent[0], p.Chat) and sent[0].sender == "booth"
    for bad in ("", "x" * (p.CHAT_MAX_CHARS + 1), "\x1b[2J"):
        with pytest.raises(ChatRefused) as refused:
            await chat.send(bad)
        assert not bad or bad not in str(refused.value)  # the reason never quotes the text
    line = p.Chat(call_id="c-test0002", id="m-hub00001", sender="advisor", text="Ja.")
    await chat.receive(line)
    await chat.receive(line)  # the same line by channel and hub shows once
    await chat.receive(p.Chat(call_id="c-other001", id="m-hub00002", sender="advisor", text="fremd"))
    await chat.receive(p.ScreenShare(call_id="c-test0002", sharing=True))
    assert [line.text for line in chat.lines] == ["Können Sie mich hören?", "Ja."] and shares == [True]
    # The booth re-offers after a drop: a new peer connection, the same call, the same transcript.
    pc = RTCPeerConnection()
    chat.attach(pc, "c-test0002")
    assert len(chat.lines) == 2
    await pc.close()
    chat.end()
    assert chat.lines == [] and chat.call_id is None and shares == [True, False] and ended == [True]


def test_links_and_qr_codes():
    import zxingcpp

    text = "Antrag: https://www.arbeitsagentur.de/a?b=1. Oder www.example.org, danke!"
    assert find_links(text) == ["https://www.arbeitsagentur.de/a?b=1", "www.example.org"]
    assert find_links("keine Links hier") == []
    rows = qr_rows("https://www.arbeitsagentur.de/a?b=1")
    modules = np.array([[0 if c == "1" else 255 for c in row] for row in rows], dtype=np.uint8)
    image = np.pad(np.kron(modules, np.ones((8, 8), dtype=np.uint8)), 32, constant_values=255)
    assert [r.text for r in zxingcpp.read_barcodes(image)] == ["https://www.arbeitsagentur.de/a?b=1"]
    message = line_message(ChatLine("m-1", "advisor", text))
    assert [link["url"] for link in message["line"]["links"]] == find_links(text)
    # The customer's own lines are not turned into codes.
    assert line_message(ChatLine("m-2", "booth", text))["line"]["links"] == []


def test_page_chat_message_is_checked_where_it_enters():
    assert parse_message('{"type": "chat", "text": "مرحبا"}') == ("chat", "مرحبا", {})
    for raw in ('{"type": "chat"}', '{"type": "chat", "text": 5}', '{"type": "chat", "text": "' + "x" * 2001 + '"}'):
        with pytest.raises(InvalidMessage):
            parse_message(raw)
