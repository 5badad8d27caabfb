"""`videokiosk selftest` against a config with fake devices: a table, pass/fail per line, exit code."""

from __future__ import annotations

from aiohttp import web

from hub.app import HubParts, make_app
from hub.config import parse_hub_config
from videokiosk.cli import main
from videokiosk.clock import FakeClock

CONFIG = """
[booth]
id = "selftest-booth"
name = "Selftest"
location = "Lab"

[hub]
url = "{hub}"
token_file = "{token}"

[store]
path = "{store}"

[hardware]
camera = "fake"
audio = "fake"
button = "fake"
hotplug = "fake"
width = 320
height = 240
"""


def write_config(tmp_path, hub_url: str, token: str = "no-such-token", extra: str = ""):
    path = tmp_path / "booth.toml"
    (tmp_path / "device-token").write_text(token + "\n")
    path.write_text(CONFIG.format(hub=hub_url, store=tmp_path / "booth.db", token=tmp_path / "device-token") + extra)
    return path


def real_hub(tmp_path) -> tuple[web.Application, str]:
    """The hub app as it runs, with one registered booth; returns it and that booth's token."""
    config = parse_hub_config({"store": {"path": str(tmp_path / "hub.db")}})
    parts = HubParts.open(config, clock=FakeClock())
    return make_app(parts), parts.registry.create_booth("selftest-booth", "Selftest", "Lab")


def line_of(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(name))


def test_all_checks_pass_with_fakes_and_a_live_hub(tmp_path, capsys, loop_thread):
    app, token = real_hub(tmp_path)
    url = loop_thread.serve(app)
    code = main(["selftest", "--config", str(write_config(tmp_path, url, token))])
    out = capsys.readouterr().out
    assert code == 0, out
    for name in ("camera", "microphone", "speaker", "disk", "hub", "credential"):
        assert "PASS" in line_of(out, name), out
    assert "SKIP" in line_of(out, "button")  # --button not given: not proven, and not counted as passed
    assert "hub" in out and "answers 200" in out
    assert "the hub knows this booth as selftest-booth" in out
    skipped = [line for line in out.splitlines() if "SKIP" in line.split()[1:2]]
    total = len([line for line in out.splitlines() if line.split()[1:2] in (["PASS"], ["SKIP"], ["FAIL"])])
    assert f"{total - len(skipped)} of {total} checks passed; skipped (not proven): button" in out


def test_a_credential_the_hub_does_not_know_fails(tmp_path, capsys, loop_thread):
    # /healthz alone says nothing about the booth: a revoked or mistyped token must show.
    app, _ = real_hub(tmp_path)
    code = main(["selftest", "--config", str(write_config(tmp_path, loop_thread.serve(app), "revoked-token"))])
    out = capsys.readouterr().out
    assert code == 1
    assert "PASS" in line_of(out, "hub") and "FAIL" in line_of(out, "credential")
    assert "-> The hub does not accept this booth's credential" in out


def test_a_device_that_cannot_be_built_hides_no_other_result(tmp_path, capsys):
    # picamera2 is not installed on a dev machine: the camera fails, microphone and speaker still show.
    cfg = write_config(tmp_path, "http://127.0.0.1:1")
    cfg.write_text(cfg.read_text().replace('camera = "fake"', 'camera = "picamera2"'))
    code = main(["selftest", "--config", str(cfg), "--no-hub"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL" in line_of(out, "camera") and "picamera2" in line_of(out, "camera")
    assert "PASS" in line_of(out, "microphone") and "PASS" in line_of(out, "speaker")


def test_a_missing_gpio_library_is_named_not_blamed_on_the_wiring(tmp_path, capsys, monkeypatch):
    # No pin library at all (a venv without --system-site-packages on a Pi): gpiozero's own error.
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "no-such-pin-library")
    cfg = write_config(tmp_path, "http://127.0.0.1:1")
    cfg.write_text(cfg.read_text().replace('button = "fake"', 'button = "gpio"'))
    code = main(["selftest", "--config", str(cfg), "--no-hub", "--button", "--button-timeout", "0.1"])
    out = capsys.readouterr().out
    assert code == 1
    button = line_of(out, "button")
    assert "FAIL" in button and "'lgpio', which is not installed" in button
    assert "check the button wiring" not in out and "is not available" not in button


def test_unreachable_hub_fails_with_a_hint(tmp_path, capsys, loop_thread):
    dead = "http://127.0.0.1:1"  # a port nobody listens on
    code = main(["selftest", "--config", str(write_config(tmp_path, dead))])
    out = capsys.readouterr().out
    assert code == 1
    hub_line = next(line for line in out.splitlines() if line.startswith("hub"))
    assert "FAIL" in hub_line
    assert "-> Hub unreachable" in out
    assert "failed: hub, credential" in out


def test_unpressed_button_fails_when_asked_for(tmp_path, capsys):
    cfg = write_config(tmp_path, "http://127.0.0.1:1")
    code = main(["selftest", "--config", str(cfg), "--no-hub", "--button", "--button-timeout", "0.5"])
    out = capsys.readouterr().out
    assert code == 1
    assert any(line.startswith("button") and "FAIL" in line for line in out.splitlines())
    assert "-> No button press seen" in out


def test_broken_config_exits_2_with_the_key(tmp_path, capsys):
    path = tmp_path / "booth.toml"
    write_config(tmp_path, "http://127.0.0.1:1", extra="fps = 99\n")
    assert main(["selftest", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "hardware.fps" in err and "Traceback" not in err
