"""Reading the invitation's QR code with the booth camera, while the code screen is shown.

The invitation e-mail carries a QR code of the personal link (hub/mail.py). On the "Ihr Termin"
screen the customer may hold it up to the camera instead of typing the code: :class:`CodeScanner`
takes frames from the camera's track a few times a second, looks for a QR code with zxing-cpp and
hands back what it says. Frames are only looked at, in memory, and dropped: nothing is stored,
shown or sent (the link's token goes to the hub for checking, like a typed code).

Example::

    >>> scanned("https://hub.example/join#abcdefghijklmnopqrstuvwxyz012345")
    {'token': 'abcdefghijklmnopqrstuvwxyz012345'}
    >>> scanned("K7M2-X9PQ"), scanned("https://elsewhere.example/")
    ({'code': 'K7M2-X9PQ'}, None)
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)
TOKEN = re.compile(r"/join#([A-Za-z0-9_-]{20,100})$")
CODE = re.compile(r"^[A-Za-z0-9 -]{4,20}$")


def scanned(text: str) -> dict[str, str] | None:
    """The appointment check a QR code's text asks for: a link's token or a code; else None."""
    text = text.strip()
    match = TOKEN.search(text)
    if match:
        return {"token": match.group(1)}
    if CODE.match(text):
        return {"code": text}
    return None


def decode(frame: Any) -> list[str]:
    """Texts of the QR codes in one video frame (an ``av.VideoFrame``)."""
    import zxingcpp  # imported here: only a booth with a camera needs it

    gray = frame.to_ndarray(format="gray")
    return [result.text for result in zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode)]


class CodeScanner:
    """Watches a camera track until a usable QR code shows up.

    ``track_factory()`` returns a fresh ``MediaStreamTrack`` (the booth camera's
    ``video_track``); one frame in ``every_s`` seconds is decoded, in a worker thread.

    Example::

        scanner = CodeScanner(devices.camera.video_track)
        found = await scanner.scan(ignore={"last wrong text"})   # {"token": ...} or {"code": ...}
    """

    def __init__(self, track_factory: Callable[[], Any], every_s: float = 0.3) -> None:
        self._track_factory = track_factory
        self._every_s = every_s

    async def scan(self, ignore: frozenset[str] = frozenset()) -> dict[str, str]:
        track = self._track_factory()
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await track.recv()
                for text in await loop.run_in_executor(None, decode, frame):
                    found = scanned(text)
                    if found is not None and text not in ignore:
                        found["text"] = text
                        return found
                await asyncio.sleep(self._every_s)  # a few looks a second: the Pi has calls to encode
        finally:
            track.stop()


class ScanTask:
    """The one scan running while the code screen is shown; reports through ``found(**check)``."""

    def __init__(self, scanner: CodeScanner | None) -> None:
        self._scanner = scanner
        self._task: asyncio.Task | None = None
        self._last: str | None = None  # a refused QR code is not sent again and again

    def start(self, found: Callable[..., Awaitable[Any]]) -> None:
        self.cancel()
        if self._scanner is None:
            return

        async def run() -> None:
            try:
                check = await self._scanner.scan(frozenset({self._last} if self._last else ()))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # no camera: typing the code still works
                log.info("QR scan stopped: %s", type(exc).__name__)
                return
            self._last = check.pop("text")
            await found(**check)

        self._task = asyncio.ensure_future(run())

    def cancel(self) -> None:
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        self._task = None

    def forget(self) -> None:
        self.cancel()
        self._last = None
