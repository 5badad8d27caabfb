"""Small pieces the session is built from: check verdicts, typed details, survey answers, errands.

Example::

    >>> checks_passed({n: {"status": "pass"} for n in CHECK_NAMES})
    True
    >>> d = Details(); d.update({"name": " Ada "})
    {'name': 'Ada'}
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rtc.thresholds import GOOD_KBPS, POOR_KBPS

from .errors import InvalidMessage

# The device check, in the order the screen lists it. The consent text promises exactly these.
CHECK_NAMES = ("camera", "microphone", "speaker", "upload", "download")
# Published practice for a two-person video call (rtc/thresholds.py): below POOR_KBPS each way
# fails, from GOOD_KBPS on it is comfortable.
MIN_KBPS = POOR_KBPS
MAX_NAME = 80
MAX_CUSTOMER_NUMBER = 20
SURVEY_RATINGS = range(1, 6)


def checks_passed(results: dict[str, dict[str, Any]]) -> bool:
    """Every check present and none failed ("warn" still lets the customer go on)."""
    return all(results.get(name, {}).get("status") in ("pass", "warn") for name in CHECK_NAMES)


def rate_verdict(kbps: float | None) -> str:
    """pass / warn / fail for a measured rate, by the thresholds above."""
    if kbps is None or kbps < MIN_KBPS:
        return "fail"
    return "warn" if kbps < GOOD_KBPS else "pass"


class Details:
    """Name and customer number the customer may type while waiting. Both optional."""

    def __init__(self) -> None:
        self.name: str | None = None
        self.customer_number: str | None = None

    def update(self, data: dict[str, Any]) -> dict[str, str | None]:
        """Apply the keys present in ``data``; return what changed. Raises InvalidMessage."""
        changed: dict[str, str | None] = {}
        for key, limit in (("name", MAX_NAME), ("customer_number", MAX_CUSTOMER_NUMBER)):
            if key not in data:
                continue
            value = data[key]
            if value is not None and not isinstance(value, str):
                raise InvalidMessage(f"{key} must be text")
            value = " ".join(value.split()) if value else None
            if value and len(value) > limit:
                raise InvalidMessage(f"{key} is longer than {limit} characters")
            if value != getattr(self, key):
                setattr(self, key, value or None)
                changed[key] = value or None
        return changed

    def as_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "customer_number": self.customer_number}


def parse_survey(answers: dict[str, Any]) -> dict[str, Any]:
    """The three survey answers, each optional: rating 1-5, easy yes/no, again yes/no."""
    rating = answers.get("rating")
    if rating is not None and (isinstance(rating, bool) or rating not in SURVEY_RATINGS):
        raise InvalidMessage("rating must be a whole number from 1 to 5")
    out: dict[str, Any] = {"rating": rating}
    for key in ("easy", "again"):
        value = answers.get(key)
        if value is not None and not isinstance(value, bool):
            raise InvalidMessage(f"{key} must be yes or no")
        out[key] = value
    return out


class Errands:
    """The session's errands to the hub and the call handler, run in order, off the UI's path.

    A slow or broken hub must not freeze the screen, and order matters (enter before leave).
    """

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._queue: asyncio.Queue[Callable[[], Awaitable[None]]] | None = None
        self._worker: asyncio.Task | None = None

    def put(self, send: Callable[[], Awaitable[None]]) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work(self._queue))
        self._queue.put_nowait(send)

    async def _work(self, queue: asyncio.Queue) -> None:
        while True:
            send = await queue.get()
            try:
                await send()
            except Exception:
                self._log.exception("delivering to hub / call handler failed")
            finally:
                queue.task_done()

    async def drain(self) -> None:
        if self._queue is not None:
            await self._queue.join()

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None


class CheckTask:
    """The one device check running in the background; a new start cancels the old one."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, runner: Any, report: Callable[[str, dict], Awaitable[Any]],
              done: Callable[[], Awaitable[Any]]) -> None:
        self.cancel()
        self._task = asyncio.get_running_loop().create_task(self._run(runner, report, done))

    async def _run(self, runner: Any, report: Callable[[str, dict], Awaitable[Any]],
                   done: Callable[[], Awaitable[Any]]) -> None:
        try:
            await runner.run(report)
        except asyncio.CancelledError:
            raise
        except Exception:  # the session then marks what is missing as failed
            self._log.exception("device check crashed")
        self._task = None
        await done()

    def cancel(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
