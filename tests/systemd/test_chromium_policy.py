"""The kiosk's managed policy, loaded by the real Debian Chromium, denies camera and microphone
even to a page the browser profile had already allowed them to (as if someone clicked "allow").

Chromium reads policy only from /etc/chromium/policies/managed, so each run gets a private mount
namespace with a copy of /etc/chromium bound over it: the machine's own Chromium (and the other
tests) never see the policy. The page reports what getUserMedia did to a server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from aiohttp import web

from tests.support import LoopThread

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "provisioning" / "chromium-policy.json"
CHROMIUM = Path("/usr/bin/chromium")
BOOTH_ORIGIN = "http://127.0.0.1:8081"
PATIENCE = 60.0

PAGE = """<!doctype html><meta charset="utf-8"><title>probe</title><script>
async function probe(constraints) {
  try { const s = await navigator.mediaDevices.getUserMedia(constraints);
        s.getTracks().forEach(t => t.stop()); return "granted"; }
  catch (e) { return e.name; }
}
(async () => {
  const result = {video: await probe({video: true}), audio: await probe({audio: true})};
  await fetch("/result", {method: "POST", body: JSON.stringify(result)});
})();
</script>"""

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                       reason="needs root and unshare to give Chromium a private /etc/chromium"),
]


async def _future() -> asyncio.Future:
    return asyncio.get_running_loop().create_future()


def probe_server(loop_thread: LoopThread) -> tuple[str, asyncio.Future]:
    """Serves the probe page; the future gets what the page reports."""
    result: asyncio.Future = loop_thread.run(_future())

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def report(request: web.Request) -> web.Response:
        if not result.done():
            result.set_result(json.loads(await request.text()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_post("/result", report)
    return loop_thread.serve(app), result


def profile_allowing_media(profile: Path, origin: str) -> Path:
    """A profile in which the user already allowed camera and microphone for ``origin``."""
    allow = {f"{origin},*": {"setting": 1}}
    prefs = {"profile": {"content_settings": {"exceptions": {"media_stream_camera": allow, "media_stream_mic": allow}}}}
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Preferences").write_text(json.dumps(prefs))
    return profile


def probe_media(loop_thread: LoopThread, tmp_path: Path, with_policy: bool) -> dict:
    origin, result = probe_server(loop_thread)
    etc = tmp_path / "etc-chromium"
    shutil.copytree("/etc/chromium", etc)
    if with_policy:
        # The shipped policy; only the booth's origin becomes the test server's free port.
        (etc / "policies" / "managed").mkdir(parents=True)
        (etc / "policies" / "managed" / "videokiosk.json").write_text(POLICY.read_text().replace(BOOTH_ORIGIN, origin))
    profile = profile_allowing_media(tmp_path / "profile", origin)
    chromium = [str(CHROMIUM), "--headless=new", "--no-sandbox", "--use-fake-device-for-media-stream",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                f"--user-data-dir={profile}", origin + "/"]
    script = f'mount --bind "{etc}" /etc/chromium && exec "$@"'
    browser = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *chromium],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        return loop_thread.run(asyncio.wait_for(asyncio.shield(result), PATIENCE), timeout=PATIENCE + 10)
    except (TimeoutError, asyncio.TimeoutError):
        browser.kill()
        pytest.fail(f"the probe page never reported; chromium said: {browser.stderr.read().decode()[-2000:]}")
    finally:
        if browser.poll() is None:
            browser.terminate()
        browser.wait(timeout=30)
        browser.stderr.close()


def test_without_the_policy_the_allowed_page_gets_camera_and_microphone(loop_thread, tmp_path):
    # The control: proves the probe sees a grant, so the denial below is the policy's doing.
    assert probe_media(loop_thread, tmp_path, with_policy=False) == {"video": "granted", "audio": "granted"}


def test_the_kiosk_policy_denies_camera_and_microphone_even_on_the_booths_own_page(loop_thread, tmp_path):
    assert probe_media(loop_thread, tmp_path, with_policy=True) == {"video": "NotAllowedError",
                                                                     "audio": "NotAllowedError"}
