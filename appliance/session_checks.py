"""One customer's device check, a collaborator of :class:`appliance.session.Session`.

The checks are the ``CheckRunner`` the session was given (the same ones ``videokiosk selftest``
runs); each reports through ``handle("check_result", ...)`` and the runner ends with
``handle("checks_done")``. :class:`DeviceCheckStep` holds the results as they come; a check that
never reported counts as failed. The session's table actions (``run_checks``, ``note_check``,
``finish_checks``) use it, and of the results the session stores only the upload and download
rates, as the consent says.

Example::

    >>> import asyncio
    >>> from appliance.session import Session
    >>> async def demo():
    ...     session = Session()
    ...     await session.handle("start")
    ...     await session.handle("accept")
    ...     return session.snapshot()["checks"]["order"][0]
    >>> asyncio.run(demo())
    'camera'
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from .errors import Refused
from .session_parts import CHECK_NAMES, CheckTask, checks_passed


class CheckRunner(Protocol):
    """Runs the device check; reports each result as it comes (see appliance.devicecheck)."""

    async def run(self, report: Callable[[str, dict[str, Any]], Awaitable[None]]) -> None: ...


class DeviceCheckStep:
    """The results of the device check now running (or last run) and the task running it."""

    def __init__(self, runner: Any, *, report: Callable[[str, dict], Awaitable[Any]],
                 done: Callable[[], Awaitable[Any]], log: logging.Logger) -> None:
        self._runner = runner
        self._report = report
        self._done = done
        self._task = CheckTask(log)
        self.results: dict[str, dict[str, Any]] = {}

    @property
    def passed(self) -> bool:
        return checks_passed(self.results)

    def start(self) -> None:
        self.results = {}
        if self._runner is not None:
            self._task.start(self._runner, report=self._report, done=self._done)
        else:
            self._task.cancel()

    def cancel(self) -> None:
        self._task.cancel()

    def clear(self) -> None:
        self.results = {}

    def note(self, name: str, result: Any) -> None:
        if name not in CHECK_NAMES or not isinstance(result, dict):
            raise Refused(f"not a check result: {name!r}")
        self.results[name] = result

    def finish(self) -> bool:
        """Every check that did not report failed. Returns whether the check passed."""
        for name in CHECK_NAMES:
            self.results.setdefault(name, {"status": "fail", "hint": "check_error"})
        return self.passed

    def rates(self) -> dict[str, Any]:
        """The measured upload and download rates (kbit/s), the only results that are stored."""
        return {f"{k}_kbps": self.results.get(k, {}).get("kbps") for k in ("upload", "download")}

    def snapshot(self) -> dict[str, Any]:
        return {"running": self._task.running, "results": dict(self.results), "passed": self.passed,
                "order": list(CHECK_NAMES)}
