"""A Firefox ESR journey as a child process: node runs one of tests/firefox/*.mjs (puppeteer-core
over WebDriver BiDi), which prints one JSON line per stage; the test reads them in order and acts
between them (the advisor admits, the booth answers in the chat ...)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import LAUNCH_TIMEOUT_MS

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
FIREFOX = Path("/usr/bin/firefox-esr")


def node_with_puppeteer() -> str:
    """node with puppeteer-core installed (the Makefile's setup: npm ci from package.json)."""
    node = shutil.which("node")
    if not node or not (ROOT / "node_modules" / "puppeteer-core").exists():
        pytest.fail("node or puppeteer-core missing: run `make test`, which installs them")
    if not FIREFOX.exists():
        pytest.fail(f"Firefox ESR is missing at {FIREFOX}: run `make test`, which installs it")
    return node


@contextmanager
def virtual_display() -> Iterator[str]:
    """A private X server (Xvfb) for a Firefox that must have a screen (to share it); its display
    name, once Xvfb has written it (-displayfd: ready, no waiting on time)."""
    xvfb = shutil.which("Xvfb")
    if not xvfb:
        pytest.fail("Xvfb is missing: run `make test`, which installs it (scripts/system-packages.txt)")
    server = subprocess.Popen([xvfb, "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        number = server.stdout.readline().strip()
        assert number, "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


class FirefoxJourney:
    """``display``: an X display (see :func:`virtual_display`) for Firefox with a screen."""

    def __init__(self, node: str, script: str, *args: str, display: str | None = None) -> None:
        env = {**os.environ, "FIREFOX_LAUNCH_MS": str(LAUNCH_TIMEOUT_MS)} | ({"FIREFOX_DISPLAY": display} if display else {})
        self.process = subprocess.Popen([node, str(HERE / script), *args], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)

    def stage(self, name: str) -> dict:
        """The driver's next JSON line; it must be ``name`` (or the final result, which then fails)."""
        line = self.process.stdout.readline()
        message = json.loads(line) if line.strip() else {
            "ended": self.process.wait(30), "stderr": self.process.stderr.read()[-2000:]}
        assert name in message, message
        return message

    def finish(self) -> None:
        """The final line says every step passed, and node exits 0."""
        result = self.stage("ok")
        assert result["ok"], result
        assert self.process.wait(60) == 0

    def __enter__(self) -> FirefoxJourney:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
