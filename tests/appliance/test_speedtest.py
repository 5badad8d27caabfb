"""Upload/download measurement over real sockets, and its thresholds."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from appliance.devicecheck import rate_result
from rtc.errors import RtcError
from rtc.speedtest import MAX_BYTES, add_speedtest_routes, measure


@pytest.fixture
async def base_url():
    app = web.Application()
    add_speedtest_routes(app)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_measures_both_directions_over_loopback(base_url):
    async with aiohttp.ClientSession() as http:
        up, down = await measure(base_url, http, size=256 * 1024)
        assert up >= 750 and down >= 750
        async with http.get(f"{base_url}/speedtest/download", params={"bytes": str(10 * MAX_BYTES)}) as resp:
            assert int(resp.headers["Content-Length"]) == MAX_BYTES  # clamped, not obeyed blindly
        async with http.get(f"{base_url}/speedtest/download", params={"bytes": "lots"}) as resp:
            assert resp.status == 400


async def test_unreachable_server_is_a_clear_error():
    async with aiohttp.ClientSession() as http:
        with pytest.raises(RtcError, match="speed test against http://127.0.0.1:9 failed"):
            await measure("http://127.0.0.1:9", http)


@pytest.mark.parametrize(("kbps", "status", "hint"), [
    (349, "fail", "check.rate.low"), (350, "warn", "check.rate.slow"), (749, "warn", "check.rate.slow"),
    (750, "pass", None), (None, "fail", "check.rate.unreachable"),
])
def test_thresholds_350_pass_and_750_warn(kbps, status, hint):
    result = rate_result(kbps)
    assert (result["status"], result["hint"]) == (status, hint)
