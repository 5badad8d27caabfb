"""The booth's /metrics (parsed with prometheus-client's parser; names and labels pinned) and
`videokiosk status`, against a real booth daemon with fake hardware."""

from __future__ import annotations

import argparse
import asyncio
from datetime import date, timedelta

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from appliance import status_cli
from appliance.config import parse_config
from appliance.daemon import Booth
from appliance.errors import ConfigError
from appliance.metrics import check_listen_host
from videokiosk.clock import FakeClock

CONTRACT = {  # name (as exposed) -> label names
    "videokiosk_booth_info": {"booth"},
    "videokiosk_booth_uptime_seconds": set(),
    "videokiosk_booth_state": {"state"},
    "videokiosk_booth_sessions_total": {"outcome"},
    "videokiosk_booth_call_seconds_total": set(),
    "videokiosk_booth_last_call_quality": {"grade"},
    "videokiosk_booth_last_call_upload_kbps": set(),
    "videokiosk_booth_last_call_download_kbps": set(),
    "videokiosk_booth_device_healthy": {"device"},
    "videokiosk_booth_cpu_temperature_celsius": set(),
    "videokiosk_booth_cpu_throttled": set(),
    "videokiosk_booth_undervoltage": set(),
    "videokiosk_booth_disk_free_bytes": set(),
    "videokiosk_booth_purge_runs_total": set(),
    "videokiosk_booth_purged_rows_total": {"table"},
}


def _config(tmp_path, **metrics):
    return parse_config({
        "booth": {"id": "test-booth", "name": "Testkabine", "location": "Labor"},
        "ui": {"port": 0},
        "store": {"path": str(tmp_path / "booth.db")},
        "hardware": {"camera": "fake", "audio": "fake", "button": "fake", "hotplug": "fake",
                     "width": 160, "height": 120, "fps": 5},
        "metrics": {"host": "127.0.0.1", "port": 0, **metrics},
    })


@pytest.fixture
async def booth(tmp_path):
    b = Booth(_config(tmp_path), clock=FakeClock())
    await b.start(port=0)
    yield b
    await b.stop()


async def _scrape(url: str) -> dict[tuple[str, tuple], float]:
    async with aiohttp.ClientSession() as http, http.get(url) as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
        text = await r.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}


def _names(samples) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for name, labels in samples:
        out.setdefault(name, set()).update(k for k, _ in labels)
    return out


def _fake_pi(root, temp="52100", throttled="0x50005"):
    zone = root / "sys/class/thermal/thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "temp").write_text(temp + "\n")
    firmware = root / "sys/devices/platform/soc/soc:firmware"
    firmware.mkdir(parents=True)
    (firmware / "get_throttled").write_text(throttled + "\n")


async def test_booth_metrics_names_labels_and_values(booth, tmp_path):
    url = booth.metrics_server.url
    assert url.startswith("http://127.0.0.1:")
    booth.metrics.sys_root = tmp_path / "not-a-pi"  # this machine may have thermal zones of its own
    bare = _names(await _scrape(url))
    # Off a Pi: no temperature, no throttling, no quality before the first call (absent, not 0).
    for absent in ("videokiosk_booth_cpu_temperature_celsius", "videokiosk_booth_cpu_throttled",
                   "videokiosk_booth_last_call_quality"):
        assert absent not in bare

    _fake_pi(tmp_path / "pi")
    booth.metrics.sys_root = tmp_path / "pi"
    booth.store.bump_stats(date(2026, 1, 1), calls=2, declined=1, call_s_total=420)
    booth.store.bump_stats(date(2026, 1, 2), calls=1, withdrawn=1, call_s_total=60)
    booth.store.record_consent("s-old00001", "de", "sha256:x")
    booth.clock.advance(timedelta(days=15))
    booth.purge_now()
    booth.metrics.quality("fair", 640.0, 1200.0)
    booth.devices.camera.unplugged("test")

    samples = await _scrape(url)
    assert _names(samples) == CONTRACT
    v = lambda name, **labels: samples[(name, tuple(sorted(labels.items())))]  # noqa: E731
    assert v("videokiosk_booth_info", booth="test-booth") == 1
    assert v("videokiosk_booth_state", state="idle") == 1 and v("videokiosk_booth_state", state="call") == 0
    assert v("videokiosk_booth_sessions_total", outcome="call") == 3
    assert v("videokiosk_booth_sessions_total", outcome="declined") == 1
    assert v("videokiosk_booth_sessions_total", outcome="withdrawn") == 1
    assert v("videokiosk_booth_call_seconds_total") == 480
    assert v("videokiosk_booth_last_call_quality", grade="fair") == 1
    assert v("videokiosk_booth_last_call_upload_kbps") == 640.0
    assert v("videokiosk_booth_device_healthy", device="camera") == 0
    assert v("videokiosk_booth_device_healthy", device="microphone") == 1
    assert v("videokiosk_booth_cpu_temperature_celsius") == 52.1
    assert v("videokiosk_booth_cpu_throttled") == 1 and v("videokiosk_booth_undervoltage") == 1
    assert v("videokiosk_booth_disk_free_bytes") > 0
    assert v("videokiosk_booth_purge_runs_total") >= 2  # the hourly purge at start, and ours
    assert v("videokiosk_booth_purged_rows_total", table="consents") == 1
    assert v("videokiosk_booth_uptime_seconds") >= 0


async def test_status_prints_a_table_and_exits_1_on_a_fault(booth, tmp_path, capsys):
    config = tmp_path / "booth.toml"
    config.write_text('[booth]\nid = "test-booth"\nname = "T"\nlocation = "L"\n')
    args = argparse.Namespace(config=config, url=booth.metrics_server.url, timeout=5.0)
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, status_cli.run, args) == 0
    out = capsys.readouterr().out
    assert "booth test-booth" in out and "state" in out and "idle" in out and "camera" in out

    booth.devices.camera.unplugged("test")
    assert await loop.run_in_executor(None, status_cli.run, args) == 1
    assert "FAULT" in capsys.readouterr().out


def test_status_explains_an_unreachable_daemon_and_a_broken_config(tmp_path, capsys):
    config = tmp_path / "booth.toml"
    config.write_text('[booth]\nid = "test-booth"\nname = "T"\nlocation = "L"\n[metrics]\nport = 1\n')
    assert status_cli.run(argparse.Namespace(config=config, url=None, timeout=2.0)) == 1
    assert "does not answer at http://127.0.0.1:1/metrics" in capsys.readouterr().err
    config.write_text("[booth]\nid = 3\n")
    assert status_cli.run(argparse.Namespace(config=config, url=None, timeout=2.0)) == 2


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "10.20.30.40", "192.168.1.5", "fe80::1"])
def test_metrics_listen_on_loopback_or_management_addresses(host):
    check_listen_host(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "8.8.8.8", "booth.example.org"])
def test_metrics_refuse_public_or_wildcard_addresses(host):
    with pytest.raises(ConfigError, match="metrics.host"):
        check_listen_host(host)
