"""The hub purges at start (catching up after downtime), from `videokiosk hub purge`, and hourly
from a systemd timer that also runs while the hub is stopped."""

from __future__ import annotations

import asyncio
import configparser
import shlex
import subprocess
import sys
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

from aiohttp.test_utils import TestServer

from hub.app import HubParts, make_app
from hub.config import HubConfig, MailSection
from hub.db import record_call_fields
from hub.outbox import MailOutbox
from hub.storage import open_database
from videokiosk.cli import main
from videokiosk.clock import FakeClock, SystemClock

from .conftest import store_for, store_toml

HUB_UNITS = Path(__file__).parents[2] / "systemd" / "hub"


def two_calls(target: str, now) -> None:
    """One call row 15 days old, one from today."""
    db = open_database(target)
    record_call_fields(db, "c-old", {"name": "Erika Muster"}, now - timedelta(days=1))
    record_call_fields(db, "c-new", {"name": "Max Muster"}, now + timedelta(days=13))
    db.close()


async def test_the_hub_purges_as_soon_as_it_starts(hub_database):
    clock = FakeClock()
    two_calls(hub_database, clock.now())
    config = HubConfig.model_validate({"store": store_for(hub_database)})  # purge_interval_s: an hour
    parts = HubParts.open(config, clock=clock)
    server = TestServer(make_app(parts), host="127.0.0.1")
    await server.start_server()
    try:
        async def purged() -> None:
            while parts.db["calls"].count != 1:
                await asyncio.sleep(0.01)  # a poll: the purge task runs on this loop
        await asyncio.wait_for(purged(), 10)
        assert [r["call_id"] for r in parts.db["calls"].rows] == ["c-new"]
    finally:
        await server.close()


def test_the_purge_command_deletes_expired_rows_only(tmp_path, hub_database):
    two_calls(hub_database, SystemClock().now())
    config = tmp_path / "hub.toml"
    config.write_text(store_toml(hub_database))
    done = subprocess.run([str(Path(sys.executable).with_name("videokiosk")), "hub", "purge", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "calls 1" in done.stdout
    assert [r["call_id"] for r in open_database(hub_database)["calls"].rows] == ["c-new"]
    # Off the disk at once on SQLite; on PostgreSQL at the next vacuum (docs/scale-out.md, "Deleting").
    assert b"Erika Muster" not in b"".join(f.read_bytes() for f in tmp_path.glob("hub.db*"))


def test_the_hub_purge_timer_runs_hourly_and_catches_up():
    def unit(name: str) -> configparser.ConfigParser:
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        parser.read(HUB_UNITS / name)
        return parser

    timer = unit("videokiosk-hub-purge.timer")
    assert timer["Timer"]["OnCalendar"] == "hourly" and timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
    service = unit("videokiosk-hub-purge.service")["Service"]
    assert shlex.split(service["ExecStart"])[1:] == ["hub", "purge", "--config", "/etc/videokiosk/hub.toml"]
    assert service["UMask"] == "0077"


def test_the_purge_takes_each_eml_file_with_its_mail(tmp_path, hub_database, capsys):
    """Without SMTP each invitation is a file in ``eml_dir`` (name, e-mail address, personal link):
    the purge deletes it with its mail's row, and keeps the file of a mail that is kept."""
    folder, now = tmp_path / "mails", SystemClock().now()
    outbox = MailOutbox(open_database(hub_database), MailSection(eml_dir=folder), SystemClock())
    for recipient, expires in (("erika.muster@example.org", now - timedelta(days=1)),
                               ("max.muster@example.org", now + timedelta(days=13))):
        message = EmailMessage()
        message["To"], message["Subject"] = recipient, "Einladung"
        message.set_content(f"Guten Tag, Ihr Termin. {recipient}")
        outbox.put(message, appointment_id="a-1", role="customer", kind="invite", expires_at=expires)
    assert asyncio.run(outbox.deliver_due()) == 2
    config = tmp_path / "hub.toml"
    config.write_text(store_toml(hub_database) + f'[mail]\neml_dir = "{folder}"\n')
    capsys.readouterr()
    assert main(["hub", "purge", "--config", str(config)]) == 0  # in this process: this checkout's code
    assert "mail_outbox 1" in capsys.readouterr().out
    left = b"".join(f.read_bytes() for f in folder.iterdir())
    assert b"erika.muster" not in left and b"max.muster@example.org" in left
    assert all("erika" not in f.name for f in folder.iterdir())
