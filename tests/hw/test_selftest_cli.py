"""`videokiosk selftest` against a config with fake devices: a table, pass/fail per line, exit code."""

from __future__ import annotations

from aiohttp import web

from videokiosk.cli import main

CONFIG = """
[booth]
id = "selftest-booth"
name = "Selftest"
location = "Lab"

[hub]
url = "{hub}"

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


def write_config(tmp_path, hub_url: str):
    path = tmp_path / "booth.toml"
    path.write_text(CONFIG.format(hub=hub_url, store=tmp_path / "booth.db"))
    return path


def healthy_hub() -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    return app


def test_all_checks_pass_with_fakes_and_a_live_hub(tmp_path, capsys, loop_thread):
    url = loop_thread.serve(healthy_hub())
    code = main(["selftest", "--config", str(write_config(tmp_path, url))])
    out = capsys.readouterr().out
    assert code == 0, out
    for name in ("camera", "microphone", "speaker", "button", "disk", "clock", "hub"):
        line = next(line for line in out.splitlines() if line.startswith(name))
        assert ("PASS" in line) or ("SKIP" in line), line
    assert "hub" in out and "answers 200" in out


def test_unreachable_hub_fails_with_a_hint(tmp_path, capsys, loop_thread):
    url = loop_thread.serve(healthy_hub())  # then point at a port nobody listens on
    dead = url.rsplit(":", 1)[0] + ":1"
    code = main(["selftest", "--config", str(write_config(tmp_path, dead))])
    out = capsys.readouterr().out
    assert code == 1
    hub_line = next(line for line in out.splitlines() if line.startswith("hub"))
    assert "FAIL" in hub_line
    assert "-> Hub unreachable" in out
    assert "failed: hub" in out


def test_unpressed_button_fails_when_asked_for(tmp_path, capsys):
    cfg = write_config(tmp_path, "http://127.0.0.1:1")
    code = main(["selftest", "--config", str(cfg), "--no-hub", "--button", "--button-timeout", "0.5"])
    out = capsys.readouterr().out
    assert code == 1
    assert any(line.startswith("button") and "FAIL" in line for line in out.splitlines())
    assert "-> No button press seen" in out


def test_broken_config_exits_2_with_the_key(tmp_path, capsys):
    path = tmp_path / "booth.toml"
    path.write_text(CONFIG.format(hub="http://127.0.0.1:1", store=tmp_path / "b.db") + 'fps = 99\n')
    assert main(["selftest", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "hardware.fps" in err and "Traceback" not in err
