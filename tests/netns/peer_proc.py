"""One end of the netns call, run inside its namespace; reports what happens as JSON lines.

    python -m tests.netns.peer_proc booth HUB_URL TOKEN DATA_DIR CA_FILE
    python -m tests.netns.peer_proc advisor HUB_URL PASSWORD CA_FILE

The hub is reached over the network, so over TLS with its private certificate (``CA_FILE``), as a
real booth reaches it: booths refuse plain HTTP to anything but this machine.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path


def say(**event) -> None:
    print(json.dumps(event), flush=True)


def _pair(pc) -> str | None:
    """Local and remote candidate types of the nominated ICE pair (aioice internals, for the report)."""
    try:
        transport = pc.getTransceivers()[0].receiver.transport.transport
        pair = next(iter(transport._connection._nominated.values()))
        return f"{pair.local_candidate.type}->{pair.remote_candidate.type}"
    except Exception:  # noqa: BLE001 - only informative
        return None


async def _watch(get_flag, name: str) -> None:
    """Report every change of ``get_flag()`` (polled: the link has no "lost" event to wait on)."""
    last = object()
    while True:
        value = get_flag()
        if value != last:
            say(**{name: value})
            last = value
        await asyncio.sleep(0.1)  # polling interval of a monitor, not a wait for a result


async def booth(hub_url: str, token: str, data_dir: str, ca_file: str) -> None:
    from tests.faults.booth import into_waiting_room, start_booth

    daemon = await start_booth(hub_url, token, Path(data_dir), hub={"url": hub_url, "token": token, "ca_file": ca_file})
    daemon.session.subscribe(lambda snap: say(state=snap["state"]))
    link, call = daemon.session.hub, daemon.session.calls
    monitors = [asyncio.ensure_future(_watch(link.connected.is_set, "link")),
                asyncio.ensure_future(_watch(lambda: call._pc.connectionState if call._pc else None, "pc")),
                asyncio.ensure_future(_watch(lambda: _pair(call._pc) if call._pc else None, "pair")),
                asyncio.ensure_future(_watch(lambda: call.stats.remote_frames // 10 * 10, "frames"))]
    say(waiting=await into_waiting_room(daemon))
    await asyncio.Event().wait()  # until killed
    for m in monitors:
        m.cancel()


async def advisor(hub_url: str, password: str, ca_file: str) -> None:
    import ssl

    from tests.faults.advisor import AdvisorPeer

    peer = await AdvisorPeer.log_in(hub_url, "anna", password, ssl=ssl.create_default_context(cafile=ca_file))
    asyncio.ensure_future(_watch(lambda: peer.frames // 10 * 10, "frames"))
    asyncio.ensure_future(_watch(lambda: peer.offers, "offers"))
    asyncio.ensure_future(_watch(lambda: _pair(peer.pc) if peer.pc else None, "pair"))
    waiting = (await peer.expect("snapshot", 30))["waiting"]  # the customer may already be waiting
    entry = waiting[0] if waiting else await peer.next_waiting(60)
    say(admitted=await peer.admit(entry["session_id"]))
    await asyncio.Event().wait()


if __name__ == "__main__":
    role, *args = sys.argv[1:]
    asyncio.run(booth(*args) if role == "booth" else advisor(*args))
