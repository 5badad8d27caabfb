"""The booth session going out of service and back, named in the journey table.

A mixin of :class:`appliance.session.Session`. Out of service, the kiosk shows a calm notice (in
every offered language, with the office's opening hours or the nearest other booth from the
config) and nothing a customer touches starts a session. Whoever was at the booth is wiped as by a
reset first; whether that may happen (a customer waiting or in a call) is decided before the event
is sent (appliance/service_mode.py), not here.

Example::

    >>> import asyncio
    >>> from appliance.session import Session
    >>> async def demo():
    ...     session = Session()
    ...     await session.handle("out_of_service", reason="technician", notice={"opening_hours": "Mo-Fr 8-16"})
    ...     return session.snapshot()["out_of_service"]
    >>> asyncio.run(demo())
    {'reason': 'technician', 'opening_hours': 'Mo-Fr 8-16', 'nearest_booth': ''}
"""

from __future__ import annotations

from typing import Any

from .journey import State

REASONS = ("technician", "device_missing")


class OutOfServiceActions:
    _service_notice: dict[str, str] | None = None

    async def _do_go_out_of_service(self, target: State, reason: Any = None, notice: Any = None, **_: Any) -> None:
        if self.state is not State.OUT_OF_SERVICE and self.state is not State.IDLE:
            await self._do_wipe(target, reason="reset")
        notice = notice if isinstance(notice, dict) else {}
        self._service_notice = {
            "reason": reason if reason in REASONS else "technician",
            "opening_hours": str(notice.get("opening_hours") or "")[:200],
            "nearest_booth": str(notice.get("nearest_booth") or "")[:200],
        }

    async def _do_back_in_service(self, target: State, **_: Any) -> None:
        self._service_notice = None

    def _service_snapshot(self) -> dict[str, Any]:
        return {"out_of_service": dict(self._service_notice)} if self.state is State.OUT_OF_SERVICE and self._service_notice else {}
