"""Durable state shared by several hubs on one database, on SQLite (one file) and on PostgreSQL:
two hubs racing for the same mails send each exactly once; the purge runs once per interval
across hubs, under a lock."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from email.message import EmailMessage

from hub.config import MailSection
from hub.outbox import MailOutbox
from hub.purge import purge_if_due
from hub.storage import open_database
from videokiosk.clock import FakeClock

START = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc)


class SlowTransport:
    """Records every delivery; each send waits until both hubs are inside a delivery pass, so
    both read the same due mails before either has sent one."""

    def __init__(self, both_reading: threading.Barrier, sent: list[tuple[str, str]], hub: str) -> None:
        self._barrier, self._sent, self._hub = both_reading, sent, hub

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        try:
            self._barrier.wait(timeout=2)  # the other hub may have nothing left to send: then no partner
        except threading.BrokenBarrierError:
            pass
        self._sent.append((self._hub, recipient))


async def test_two_hubs_racing_for_the_outbox_send_each_mail_once(hub_database):
    clock = FakeClock(START)
    sent: list[tuple[str, str]] = []
    barrier = threading.Barrier(2)
    config = MailSection(sender="videotermin@jobcenter.example", public_url="https://hub.example")
    hubs = [MailOutbox(open_database(hub_database), config, clock, SlowTransport(barrier, sent, name))
            for name in ("a", "b")]
    for n in range(6):
        message = EmailMessage()
        message["To"] = f"person{n}@example.org"
        message.set_content("Ihr Termin")
        hubs[0].put(message, appointment_id="a-1", role="customer", kind="invite",
                    expires_at=START + dt.timedelta(days=14))
    # Both read all six as due, then race: without the claim each mail goes out twice.
    counts = await asyncio.gather(*(hub.deliver_due() for hub in hubs))
    assert sorted(recipient for _, recipient in sent) == [f"person{n}@example.org" for n in range(6)]
    assert sum(counts) == 6
    statuses = {r["status"] for r in hubs[1]._db["mail_outbox"].rows}  # noqa: SLF001
    assert statuses == {"sent"}


def test_the_purge_runs_once_per_interval_across_hubs(hub_database):
    a, b = open_database(hub_database), open_database(hub_database)
    a["calls"].insert({"call_id": "c-old", "expires_at": (START - dt.timedelta(days=1)).isoformat()})
    assert purge_if_due(a, START, interval_s=3600)["calls"] == 1  # hub A's turn: the first of the interval
    b["calls"].insert({"call_id": "c-old-2", "expires_at": (START - dt.timedelta(days=1)).isoformat()})
    assert purge_if_due(b, START + dt.timedelta(minutes=59), interval_s=3600) is None  # B: A ran it already
    assert b["calls"].count == 1
    assert purge_if_due(b, START + dt.timedelta(minutes=60), interval_s=3600)["calls"] == 1  # the next interval
    assert a["calls"].count == 0


def test_while_one_hub_purges_another_does_not(hub_database):
    a, b = open_database(hub_database), open_database(hub_database)
    with a.exclusive("purge") as mine:
        assert mine
        if hub_database.startswith("postgresql://"):  # one SQLite file lives on one machine: no lock needed
            assert purge_if_due(b, START, interval_s=3600) is None
    assert purge_if_due(b, START, interval_s=3600) is not None
