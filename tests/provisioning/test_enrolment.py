"""Enrolment end to end: the real hub app on 127.0.0.1, the real `videokiosk enrol` command.

Time moves on the hub's FakeClock; no sleeps.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import sys
import stat
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from appliance.config import load_config
from hub.app import HubParts, make_app
from hub.config import parse_hub_config
from hub.storage import open_database
from hub.registry import BoothRegistry
from hub.state import InMemoryState
from hub.users import UserStore
from hub.enrolment import APP_ENROLMENT, CODE_ALPHABET, EnrolmentCodes
from provisioning.enrol import volatile_reason
from provisioning.protocol import signed_message
from videokiosk.cli import main
from tests.hub.conftest import store_for
from tests.support import private_ca_server
from videokiosk.clock import FakeClock

BOOTH = ("jc-halle-1", "Halle 1", "Musterstadt")


@dataclass
class Hub:
    url: str
    parts: HubParts
    codes: EnrolmentCodes
    clock: FakeClock


@pytest.fixture
def hub(hub_database, loop_thread) -> Hub:
    """On SQLite and on PostgreSQL: enrolment codes and booth tokens are durable hub state."""
    return start_hub(hub_database, loop_thread)


def start_hub(database: str, loop_thread, tls: ssl.SSLContext | None = None) -> Hub:
    clock = FakeClock()
    config = parse_hub_config({"store": store_for(database)})
    # The hub serves from the loop thread while the test reads the same database from its own thread,
    # one at a time (the test waits for each answer): a connection shared across threads is safe here.
    db = open_database(database)
    parts = HubParts(config, db, InMemoryState(), BoothRegistry(db),
                     UserStore(db, clock), clock)
    parts.registry.create_booth(*BOOTH)
    app = make_app(parts)  # the hub as it runs, POST /api/enrol included
    codes = app[APP_ENROLMENT]
    return Hub(loop_thread.serve(app, tls=tls), parts, codes, clock)


@pytest.fixture
def booth_dir(tmp_path) -> Path:
    etc = tmp_path / "etc-videokiosk"
    etc.mkdir()
    # A config from the image: placeholders for the booth, and a local setting that must survive.
    (etc / "booth.toml").write_text(
        '[booth]\nid = "unenrolled"\nname = "Unenrolled"\nlocation = "-"\n\n[ui]\nport = 8090\n'
    )
    return etc


def enrol(hub: Hub, etc: Path, code: str, capsys) -> tuple[int, str]:
    rc = main(["enrol", "--hub", hub.url, "--code", code, "--config", str(etc / "booth.toml"),
               "--key", str(etc / "booth-key.pem"), "--token-file", str(etc / "device-token"),
               "--allow-volatile"])
    out = capsys.readouterr()
    return rc, out.out + out.err


def test_codes_are_easy_to_type_and_single_use_by_design(hub):
    code = hub.codes.create("jc-halle-1")
    assert len(code) == 9 and code[4] == "-"
    assert set(code.replace("-", "")) <= set(CODE_ALPHABET)
    assert not set("ILOU") & set(code)


def test_enrol_writes_config_token_and_key(hub, booth_dir, capsys):
    code = hub.codes.create("jc-halle-1")
    # Typed sloppily: lower case, a space instead of the dash.
    rc, output = enrol(hub, booth_dir, code.lower().replace("-", " "), capsys)
    assert rc == 0, output
    assert "enrolled as booth jc-halle-1" in output

    config = load_config(booth_dir / "booth.toml")
    assert (config.booth.id, config.booth.name, config.booth.location) == BOOTH
    assert config.hub.url == hub.url
    assert config.hub.token_file == booth_dir / "device-token"
    assert config.ui.port == 8090  # the setting that was there survives
    for secret in ("device-token", "booth-key.pem"):
        assert stat.S_IMODE((booth_dir / secret).stat().st_mode) == 0o600, secret
    assert hub.parts.registry.verify(config.hub_token()).booth_id == "jc-halle-1"
    # The hub knows the key the booth made, and the booth kept its private half.
    key_row = hub.parts.db["booth_keys"].get("jc-halle-1")
    assert len(base64.b64decode(key_row["public_key"])) == 32
    assert b"PRIVATE KEY" in (booth_dir / "booth-key.pem").read_bytes()


def test_a_private_ca_is_kept_in_the_config_directory_and_named_absolutely(tmp_path, loop_thread, booth_dir,
                                                                         capsys, monkeypatch):
    # The technician's shell sits in a home directory with ca.pem in it, as the README shows.
    home = tmp_path / "technician"
    home.mkdir()
    ca, server = private_ca_server(home)
    hub = start_hub(str(tmp_path / "hub" / "hub.db"), loop_thread, tls=server)
    monkeypatch.chdir(home)
    rc = main(["enrol", "--hub", hub.url, "--code", hub.codes.create("jc-halle-1"), "--ca-file", "ca.pem",
               "--config", str(booth_dir / "booth.toml"), "--key", str(booth_dir / "booth-key.pem"),
               "--token-file", str(booth_dir / "device-token"), "--allow-volatile"])
    assert rc == 0, capsys.readouterr()
    # The daemon starts from / and the technician's copy goes away: the booth must not care.
    monkeypatch.chdir("/")
    ca.unlink()
    config = load_config(booth_dir / "booth.toml")
    assert config.hub.ca_file == booth_dir / "hub-ca.pem" and config.hub.ca_file.is_absolute()
    assert stat.S_IMODE(config.hub.ca_file.stat().st_mode) == 0o644
    assert config.hub.token_file.is_absolute()
    ssl.create_default_context(cafile=str(config.hub.ca_file))  # what the daemon's hub link does


def test_a_used_code_fails_and_changes_nothing(hub, booth_dir, capsys):
    code = hub.codes.create("jc-halle-1")
    assert enrol(hub, booth_dir, code, capsys)[0] == 0
    before = (booth_dir / "booth.toml").read_text(), (booth_dir / "device-token").read_text()
    rc, output = enrol(hub, booth_dir, code, capsys)
    assert rc == 1
    assert "already used" in output and "Traceback" not in output
    assert ((booth_dir / "booth.toml").read_text(), (booth_dir / "device-token").read_text()) == before


def test_an_expired_code_fails(hub, booth_dir, capsys):
    code = hub.codes.create("jc-halle-1")
    hub.clock.advance(timedelta(hours=24, seconds=1))
    rc, output = enrol(hub, booth_dir, code, capsys)
    assert rc == 1
    assert "expired" in output
    assert not (booth_dir / "device-token").exists()


def test_a_code_just_inside_24_hours_works(hub, booth_dir, capsys):
    code = hub.codes.create("jc-halle-1")
    hub.clock.advance(timedelta(hours=23, minutes=59))
    assert enrol(hub, booth_dir, code, capsys)[0] == 0


def test_a_wrong_code_fails(hub, booth_dir, capsys):
    hub.codes.create("jc-halle-1")
    rc, output = enrol(hub, booth_dir, "AAAA-AAAA", capsys)
    assert rc == 1
    assert "not known" in output


def test_re_enrolling_revokes_the_old_credential(hub, booth_dir, capsys):
    assert enrol(hub, booth_dir, hub.codes.create("jc-halle-1"), capsys)[0] == 0
    old_token = (booth_dir / "device-token").read_text().strip()
    old_key = (booth_dir / "booth-key.pem").read_bytes()
    assert enrol(hub, booth_dir, hub.codes.create("jc-halle-1"), capsys)[0] == 0
    new_token = (booth_dir / "device-token").read_text().strip()
    assert new_token != old_token
    assert hub.parts.registry.verify(old_token) is None
    assert hub.parts.registry.verify(new_token).booth_id == "jc-halle-1"
    assert (booth_dir / "booth-key.pem").read_bytes() == old_key  # same device, same identity


def post(url: str, body: object) -> tuple[int, dict]:
    request = urllib.request.Request(url + "/api/enrol", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def signed_request(code: str, signed_code: str | None = None) -> dict:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    signature = key.sign(signed_message(signed_code or code, public))
    return {"code": code, "public_key": base64.b64encode(public).decode(),
            "signature": base64.b64encode(signature).decode()}


def test_a_request_without_a_valid_signature_is_refused_and_keeps_the_code(hub, booth_dir, capsys):
    code = hub.codes.create("jc-halle-1")
    status, answer = post(hub.url, signed_request(code, signed_code="ZZZZ-ZZZZ"))
    assert status == 400 and answer["reason"] == "bad_signature"
    # A small-order key lets an all-zero signature "verify": it must be refused all the same.
    weak = {"code": code, "public_key": base64.b64encode(bytes(32)).decode(),
            "signature": base64.b64encode(bytes(64)).decode()}
    status, answer = post(hub.url, weak)
    assert status == 400 and answer["reason"] == "bad_key"
    assert enrol(hub, booth_dir, code, capsys)[0] == 0  # the real booth can still use it


def test_malformed_requests_get_a_clear_error(hub):
    assert post(hub.url, ["not", "an", "object"]) == (400, {"error": "the request needs 'code'", "reason": "malformed"})
    status, answer = post(hub.url, {"code": "X", "public_key": "***", "signature": ""})
    assert status == 400 and "base64" in answer["error"]


def test_guessing_is_slowed_down(hub):
    wrong = signed_request("AAAA-AAAA")
    statuses = [post(hub.url, wrong) for _ in range(5)]
    assert [status for status, _ in statuses] == [404, 404, 404, 429, 429]  # three free tries, then a wait
    assert 0 < statuses[-1][1]["retry_after_s"] <= 60
    hub.clock.advance(timedelta(minutes=1))  # the wait passes: typing again is allowed
    assert post(hub.url, wrong)[0] == 404


def test_an_unreachable_hub_gets_a_clear_error(booth_dir, capsys, unused_tcp_port):
    rc = main(["enrol", "--hub", f"http://127.0.0.1:{unused_tcp_port}", "--code", "AAAA-AAAA",
               "--config", str(booth_dir / "booth.toml"), "--key", str(booth_dir / "k.pem"),
               "--token-file", str(booth_dir / "t"), "--allow-volatile"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "cannot reach the hub" in err and "Traceback" not in err


def videokiosk(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed command, in its own process, as an admin runs it."""
    return subprocess.run([sys.executable, "-m", "videokiosk.cli", *args], capture_output=True, text=True,
                          timeout=60)


def test_a_hub_address_without_scheme_is_refused_before_anything_happens(booth_dir, capsys):
    rc = main(["enrol", "--hub", "hub.example.org", "--code", "AAAA-AAAA", "--config", str(booth_dir / "booth.toml"),
               "--key", str(booth_dir / "k.pem"), "--token-file", str(booth_dir / "t"), "--allow-volatile"])
    assert rc == 2
    assert "must be a URL starting with https://" in capsys.readouterr().err
    assert not (booth_dir / "k.pem").exists()


def test_hub_cli_makes_a_code(tmp_path):
    hub_toml = tmp_path / "hub.toml"
    hub_toml.write_text(f'[store]\npath = "{tmp_path / "hub.db"}"\n')
    assert videokiosk("hub", "add-booth", "--config", str(hub_toml), *BOOTH).returncode == 0
    done = videokiosk("hub", "enrolment-code", "--config", str(hub_toml), "--booth", "jc-halle-1")
    assert done.returncode == 0, done.stderr
    code = done.stdout.strip()
    assert len(code) == 9 and "works once" in done.stderr
    unknown = videokiosk("hub", "enrolment-code", "--config", str(hub_toml), "--booth", "nowhere")
    assert unknown.returncode == 2
    assert "no booth 'nowhere'" in unknown.stderr and "Traceback" not in unknown.stderr


def test_enrol_refuses_to_write_onto_a_read_only_roots_overlay():
    mounts = ("overlayroot / overlay rw,relatime,lowerdir=/media/root-ro,upperdir=/media/root-rw/overlay 0 0\n"
              "/dev/mmcblk0p1 /boot/firmware vfat rw 0 0\n")
    assert "overlay" in volatile_reason(Path("/etc/videokiosk/booth.toml"), mounts)
    # Inside `overlayroot-chroot` the lower file system is the root, and writable.
    assert volatile_reason(Path("/etc/videokiosk/booth.toml"), "/dev/mmcblk0p2 / ext4 rw 0 0\n") is None
