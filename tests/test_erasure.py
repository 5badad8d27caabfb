"""Deleted means gone from the disk (videokiosk/datafiles.py), on booth and hub, while the process
still runs: after a withdrawal, a purge or an advisor's removal, no byte of the deleted person is left in the .db file,
its -wal or its -shm, with the connection still open.

Two things keep that promise, and each is caught here when left out:

- the ``TRUNCATE`` checkpoint (:func:`~videokiosk.datafiles.erase_now`) after every withdrawal and
  purge: without it the deleted row's old page stays in the -wal file until the next automatic
  checkpoint or until the connection closes (which checkpoints, so the files are read while the
  store is still open);
- ``PRAGMA secure_delete``: without it a deleted row's bytes stay in the page's free space, in the
  .db file. Debian builds SQLite with secure delete on by default, so leaving the pragma out
  changes nothing on this machine; other builds (Python's own on other systems, a future Debian)
  default to off. So each connection here starts as such a build would (secure delete reset to
  off before ``open_private`` sees it), and the pragma is what must turn it on again.
"""

from __future__ import annotations

import random
import sqlite3
import string
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from appliance.store import BoothStore
from hub import db as hub_db
from hub.appointments import AppointmentBook, AppointmentDraft
from hub.purge import purge_all
from hub.storage import open_database
from hub.users import UserStore
from videokiosk.clock import FakeClock


@pytest.fixture(autouse=True)
def secure_delete_off_by_default(monkeypatch):
    """Every connection starts with secure delete off, as on a SQLite built without it."""
    connect = sqlite3.connect

    def built_without_secure_delete(*args, **kwargs) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.execute("PRAGMA secure_delete = OFF")
        return conn

    monkeypatch.setattr(sqlite3, "connect", built_without_secure_delete)


def random_name() -> str:
    rng = random.SystemRandom()
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(12))


def files_holding(path: Path, needle: str) -> list[str]:
    return sorted(f.name for f in path.parent.glob(path.name + "*") if needle.encode() in f.read_bytes())


def booth_withdraw(path: Path, name: str, clock: FakeClock) -> Callable[[], object]:
    store = BoothStore(path, clock=clock)
    store.record_consent("s-erase01", "de", "sha256:0f")
    store.record_customer("s-erase01", name=name, customer_number="4711")
    store.record_consent("s-other01", "de", "sha256:0f")  # somebody else's rows stay
    store.record_customer("s-other01", name="Somebody Else", customer_number="0815")
    return lambda: store.withdraw("s-erase01")


def booth_purge(path: Path, name: str, clock: FakeClock) -> Callable[[], object]:
    store = BoothStore(path, clock=clock)
    store.record_consent("s-erase01", "de", "sha256:0f")
    store.record_customer("s-erase01", name=name, customer_number="4711")
    return lambda: store.purge(clock.now() + timedelta(days=15))


def hub_withdraw(path: Path, name: str, clock: FakeClock) -> Callable[[], object]:
    db = open_database(path)
    expires = clock.now() + timedelta(days=14)
    hub_db.record_call_fields(db, "c-erase01", {"name": name, "ip_address": "192.0.2.7"}, expires)
    hub_db.link_call(db, "c-erase01", "booth-1", "s-erase01", expires)
    hub_db.record_call_fields(db, "c-other01", {"name": "Somebody Else"}, expires)
    return lambda: hub_db.forget_session(db, "booth-1", "s-erase01")


def hub_purge(path: Path, name: str, clock: FakeClock) -> Callable[[], object]:
    """The whole purge: a call row and an appointment booked with the name (purged after the calls)."""
    db = open_database(path)
    hub_db.record_call_fields(db, "c-erase01", {"name": name}, clock.now() + timedelta(days=14))
    start = (clock.now() + timedelta(days=1)).replace(tzinfo=None).isoformat(timespec="minutes")
    AppointmentBook(db, clock).create(AppointmentDraft(starts_local=start, customer_email="k@example.org", name=name), "anna")
    return lambda: purge_all(db, clock.now() + timedelta(days=60))


def hub_remove_advisor(path: Path, name: str, clock: FakeClock) -> Callable[[], object]:
    """``videokiosk hub remove-user``: an advisor's user name is personal data too."""
    users = UserStore(open_database(path), clock)
    users.add_user(name, "s3cret-pass-12")
    users.add_user("somebody-else", "s3cret-pass-12")
    return lambda: users.remove_user(name)


@pytest.mark.parametrize("deletion", [booth_withdraw, booth_purge, hub_withdraw, hub_purge, hub_remove_advisor],
                         ids=lambda f: f.__name__)
def test_a_deleted_person_leaves_no_byte_in_any_file_while_the_store_is_open(tmp_path, deletion):
    name, path = random_name(), tmp_path / "data.db"
    delete = deletion(path, name, FakeClock())
    assert files_holding(path, name), "the detector is blind: the name was never on disk"
    delete()
    assert files_holding(path, name) == []  # read while the connection is still open
