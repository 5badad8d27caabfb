import subprocess
import sys

from tests.support import LoopThread
from aiohttp import web


def test_cli_help_lists_every_subcommand():
    out = subprocess.run([sys.executable, "-m", "videokiosk.cli", "--help"], capture_output=True, text=True, check=True).stdout
    for name in ("demo", "booth", "hub", "purge", "selftest", "enrol"):
        assert name in out


def test_chromium_renders_a_loopback_page(kiosk_context, loop_thread: LoopThread):
    app = web.Application()
    app.router.add_get("/", lambda r: web.Response(text="<html lang=de><h1>Hallo</h1></html>", content_type="text/html"))
    url = loop_thread.serve(app)
    page = kiosk_context.new_page()
    page.goto(url)
    assert page.locator("h1").inner_text() == "Hallo"
