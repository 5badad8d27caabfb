"""The booth session's device check: the checks run, each result noted, the rates kept.

A mixin of :class:`appliance.session.Session`, named in the journey table (``run_checks``,
``note_check``, ``finish_checks``). The checks are the ``CheckRunner`` the session was given (the
same ones ``videokiosk selftest`` runs); each reports through ``handle("check_result", ...)`` and
the runner ends with ``handle("checks_done")``. A check that never reported counts as failed. Of
the results only the upload and download rates are stored, as the consent says.

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
from typing import Any

from .errors import Refused
from .journey import State
from .session_parts import CHECK_NAMES, checks_passed

log = logging.getLogger("videokiosk.session")


class DeviceCheckActions:
    """``_do_*`` actions of the device check; state lives on the Session (``_check_results``,
    ``_check_task``, ``checks``, ``store``)."""

    async def _do_run_checks(self, target: State, **_: Any) -> None:
        self._start_checks()

    async def _do_note_check(self, target: State, name: str = "", result: dict | None = None, **_: Any) -> None:
        if name not in CHECK_NAMES or not isinstance(result, dict):
            raise Refused(f"not a check result: {name!r}")
        self._check_results[name] = result
        level = logging.WARNING if result.get("status") == "fail" else logging.INFO
        log.log(level, "session %s: check %s: %s %s %s", self._sid(), name, result.get("status"),
                result.get("hint") or "", result.get("detail") or "")

    async def _do_finish_checks(self, target: State, **_: Any) -> None:
        for name in CHECK_NAMES:
            self._check_results.setdefault(name, {"status": "fail", "hint": "check_error"})
        if not checks_passed(self._check_results):
            self._bump(checks_failed=1)
        if self.store is not None:
            rates = {k: self._check_results[k].get("kbps") for k in ("upload", "download")}
            self._store_quietly(self.store.record_technical, self._session_id,
                                upload_kbps=rates["upload"], download_kbps=rates["download"], **self.technical_info)

    def _start_checks(self) -> None:
        self._check_results = {}
        if self.checks is not None:
            self._check_task.start(
                self.checks,
                report=lambda name, result: self.handle("check_result", name=name, result=result),
                done=lambda: self.handle("checks_done"),
            )
        else:
            self._check_task.cancel()

    def _cancel_checks(self) -> None:
        self._check_task.cancel()
