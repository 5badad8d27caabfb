"""A call whose peer connection does not come up is offered again (appliance/call.py).

Left alone it would wait for good: the advisor's browser trickles its candidates, so aiortc's
checks never run out and never fail, and a lost offer or answer leaves nothing to fail at all.
The booth's real BoothCall, a stand-in hub (tests/appliance/test_call_controls.py) and a real
aiortc advisor.
"""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription

from appliance.call import BoothCall
from hw.audio_fake import CountingSpeaker, ToneMicrophone
from hw.synthetic import SyntheticCamera
from rtc import protocol as p

from .test_call_controls import CALL_ID, FakeHub

DEADLINE_S = 0.3


async def connected(call: BoothCall, timeout: float = 20.0) -> None:
    pc = call._pc
    done = asyncio.Event()
    pc.on("connectionstatechange", lambda: pc.connectionState == "connected" and done.set())
    if pc.connectionState != "connected":
        await asyncio.wait_for(done.wait(), timeout)


async def answer(hub: FakeHub, advisor: RTCPeerConnection, offer: str) -> p.Answer:
    await advisor.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
    await advisor.setLocalDescription(await advisor.createAnswer())
    reply = p.Answer(call_id=CALL_ID, sdp=advisor.localDescription.sdp)
    await hub.listener(reply)
    return reply


@pytest.fixture
async def booth(request):
    """A BoothCall with a short deadline (``request.param`` if given)."""
    camera = SyntheticCamera(width=160, height=120, fps=10)
    hub = FakeHub()
    deadline = getattr(request, "param", DEADLINE_S)
    call = BoothCall(hub, camera, ToneMicrophone(level_dbfs=-20.0), CountingSpeaker(), connect_deadline_s=deadline)
    yield hub, call
    await call.stop()
    await camera.close()


# Long enough for two aiortc peers to connect on a loaded machine before the second try's deadline (6 s).
@pytest.mark.parametrize("booth", [3.0], indirect=True)
async def test_an_offer_nobody_answers_is_made_again_and_that_one_connects(booth):
    hub, call = booth
    await call.start(CALL_ID)
    first_at, _ = await asyncio.wait_for(hub.offers.get(), 10)  # lost on its way: never answered
    again_at, offer = await asyncio.wait_for(hub.offers.get(), 10)
    assert again_at - first_at >= 3.0
    advisor = RTCPeerConnection()
    try:
        reply = await answer(hub, advisor, offer)
        await connected(call)
        await hub.listener(reply)  # the same answer twice (a relay that repeats): ignored
        assert call._pc.connectionState == "connected"
        assert call._deadline is None and hub.offers.empty()  # connected: its deadline is off
    finally:
        await advisor.close()


async def test_each_try_waits_twice_as_long_and_none_while_the_hub_is_away(booth):
    hub, call = booth
    await call.start(CALL_ID)
    times = [(await asyncio.wait_for(hub.offers.get(), 10))[0] for _ in range(3)]
    # call_later never fires early: these hold on a machine under any load.
    assert times[1] - times[0] >= DEADLINE_S and times[2] - times[1] >= 2 * DEADLINE_S
    hub.connected.clear()  # the hub link's return brings its own offer (Welcome)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(hub.offers.get(), 8 * DEADLINE_S)
