"""`videokiosk booth` and `videokiosk purge` from the outside: broken configs, the example config."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from appliance.store import BoothStore
from videokiosk.clock import FakeClock, SystemClock

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "booth.example.toml"
GOOD = """
[booth]
id = "test-booth"
name = "Test"
location = "Labor"
[store]
path = "{db}"
"""


def videokiosk(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "videokiosk.cli", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


@pytest.mark.parametrize("command", ["booth", "purge"])
def test_missing_config_exits_2_with_a_clear_message(tmp_path, command):
    result = videokiosk(command, "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert "nope.toml: config file not found" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["booth", "purge"])
def test_corrupt_config_exits_2_naming_the_problem(tmp_path, command):
    broken = tmp_path / "broken.toml"
    broken.write_text("[booth\nid = ")
    result = videokiosk(command, "--config", str(broken))
    assert result.returncode == 2 and "not valid TOML" in result.stderr and "Traceback" not in result.stderr


def test_wrong_value_names_key_value_and_what_is_allowed(tmp_path):
    cfg = tmp_path / "booth.toml"
    cfg.write_text(GOOD.format(db=tmp_path / "b.db") + '[hardware]\ncamera = "webcam"\n[ui]\nlanguages = ["de", "fr"]\n')
    result = videokiosk("booth", "--config", str(cfg))
    assert result.returncode == 2
    assert "hardware.camera = 'webcam'" in result.stderr and "'fake', 'picamera2' or 'v4l2'" in result.stderr
    assert "ui.languages = ['de', 'fr']" in result.stderr and "allowed: de, en, tr, ar, uk, ru" in result.stderr


def test_retention_beyond_14_days_is_refused(tmp_path):
    cfg = tmp_path / "booth.toml"
    cfg.write_text(GOOD.format(db=tmp_path / "b.db").replace("[store]", "[store]\nretention_days = 30"))
    result = videokiosk("purge", "--config", str(cfg))
    assert result.returncode == 2 and "store.retention_days = 30" in result.stderr


def test_purge_command_deletes_expired_rows_only(tmp_path):
    db = tmp_path / "b.db"
    cfg = tmp_path / "booth.toml"
    cfg.write_text(GOOD.format(db=db))
    now = SystemClock().now()
    old = BoothStore(db, clock=FakeClock(now - timedelta(days=14, minutes=1)))
    old.record_consent("old", "de", "h")
    old.close()
    fresh = BoothStore(db, clock=FakeClock(now - timedelta(days=12)))  # expiries are whole days
    fresh.record_consent("fresh", "de", "h")
    fresh.close()
    result = videokiosk("purge", "--config", str(cfg))
    assert result.returncode == 0, result.stderr
    assert "consents 1" in result.stdout
    store = BoothStore(db)
    assert [r["session_id"] for r in store.rows("consents")] == ["fresh"]
    store.close()


def test_example_config_starts_a_booth_with_fake_hardware(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "videokiosk.cli", "booth", "--config", str(EXAMPLE), "--port", "0"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()  # blocks until the booth prints its URL (or exits)
        match = re.search(r"kiosk page at (http://127\.0\.0\.1:\d+/)", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
        with urllib.request.urlopen(match.group(1), timeout=10) as resp:
            assert resp.status == 200 and "Content-Security-Policy" in resp.headers
        assert (tmp_path / "demo-data" / "booth.db").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0



def test_unwritable_store_is_a_clear_error_not_a_traceback(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    cfg = tmp_path / "booth.toml"
    cfg.write_text(GOOD.format(db=blocker / "booth.db"))
    result = videokiosk("booth", "--config", str(cfg), "--port", "0")
    assert result.returncode == 1
    assert "cannot open the booth store" in result.stderr and "Traceback" not in result.stderr
