"""`videokiosk hub ...` as an operator runs it: add users and booths, and a real hub refuses the demo login."""

from __future__ import annotations

import subprocess
import sys

from hub.storage import open_database
from hub.registry import BoothRegistry
from hub.users import UserStore
from videokiosk.clock import SystemClock

from .conftest import store_toml


def vk(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "videokiosk.cli", "hub", *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_operator_commands_and_demo_refusal(tmp_path, hub_database):
    config = tmp_path / "hub.toml"
    config.write_text("[server]\nport = 0\n" + store_toml(hub_database))
    done = vk("add-user", "--config", str(config), "--password-stdin", "anna", stdin="lang-genug-12\n")
    assert done.returncode == 0, done.stderr
    token = vk("add-booth", "--config", str(config), "jc-halle-1", "Halle 1", "Musterstadt").stdout.strip()
    assert BoothRegistry(open_database(hub_database)).verify(token).booth_id == "jc-halle-1"
    revoked = vk("revoke-booth", "--config", str(config), "jc-halle-1")
    assert revoked.returncode == 0 and "revoked" in revoked.stdout, revoked.stderr
    assert BoothRegistry(open_database(hub_database)).verify(token) is None
    unknown = vk("revoke-booth", "--config", str(config), "jc-halle-9")
    assert unknown.returncode == 2 and "no booth 'jc-halle-9'" in unknown.stderr and "Traceback" not in unknown.stderr

    short = vk("add-user", "--config", str(config), "--password-stdin", "demo", stdin="demo\n")
    assert short.returncode == 2 and "at least 12 characters" in short.stderr  # demo/demo: only `videokiosk demo`
    UserStore(open_database(hub_database), SystemClock()).add_demo_account()  # as if copied from a demo
    refused = vk("--config", str(config))
    assert refused.returncode == 2
    assert "demo account" in refused.stderr and "Traceback" not in refused.stderr


def test_broken_config_names_the_key(tmp_path):
    config = tmp_path / "hub.toml"
    config.write_text("[server]\nport = 99999\n")
    done = vk("serve", "--config", str(config))
    assert done.returncode == 2
    assert "server.port" in done.stderr and "99999" in done.stderr


def test_a_store_path_that_cannot_be_a_folder_and_an_unknown_advisor_are_said_plainly(tmp_path):
    """An operator's typo: ``store.path`` under a file (no folder can be made there), and
    ``remove-user`` of a name nobody has (it said "removed"). Exit 2, a sentence, no traceback."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    config = tmp_path / "hub.toml"
    config.write_text(f'[store]\npath = "{blocker}/hub.db"\n')
    done = vk("purge", "--config", str(config))
    assert done.returncode == 2 and "Traceback" not in done.stderr and str(blocker) in done.stderr, done.stderr[-300:]
    config.write_text(store_toml(str(tmp_path / "hub.db")))
    nobody = vk("remove-user", "--config", str(config), "nobody")
    assert nobody.returncode == 2 and "no advisor 'nobody'" in nobody.stderr and "removed" not in nobody.stdout


def test_add_booth_refuses_an_id_name_or_location_the_booth_could_never_run_with(tmp_path):
    """The booth's config and the hub link take lower-case letters, digits and dashes only: a booth
    registered as "Halle 1" burnt its enrolment code at the booth ("does not make a valid booth
    config") and could never connect. ``add-booth`` says so at once and registers nothing."""
    config = tmp_path / "hub.toml"
    config.write_text(store_toml(str(tmp_path / "hub.db")))
    for wrong in ("Halle 1", "JC-Halle-1", "jc/halle", "b1"):
        done = vk("add-booth", "--config", str(config), wrong, "Halle 1", "Musterstadt")
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-300:]
        assert repr(wrong) in done.stderr and "a-z" in done.stderr and not done.stdout, done.stderr
    for name, location in (("", "Musterstadt"), ("Halle 1", "x" * 121)):
        done = vk("add-booth", "--config", str(config), "jc-halle-1", name, location)
        assert done.returncode == 2 and "1 to 120 characters" in done.stderr and not done.stdout, done.stderr[-300:]
    assert BoothRegistry(open_database(str(tmp_path / "hub.db"))).all() == []
