"""The fleet messages on the booth's existing hub link: health reports and technicians' actions.

A booth reports its health every few seconds (and at once when it changes); the hub keeps the
latest per booth for the fleet page and Prometheus (hub/fleet.py). A technician's action travels
hub -> booth as :class:`FleetAction`, its outcome booth -> hub as :class:`ActionResult`. Nothing
here can carry a person's data: the fields are numbers, fixed words and short technical texts
(the self-test table, a journal excerpt that is itself free of personal data by construction).

Like :mod:`rtc.protocol`, which re-exports these, this module must not import aiortc.

Example::

    >>> Health(seq=1, version="1.2.0", os="Linux 6.1", uptime_s=12.5, activity="idle").devices
    {}
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from .protocol_types import MAX_MESSAGE_BYTES, Id, Message

#: The devices a booth reports on, in the order the fleet page shows them.
FLEET_DEVICES = ("camera", "microphone", "speaker", "button", "led")
DeviceState = Literal["ok", "fault", "absent"]
Activity = Literal["idle", "in_use", "out_of_service"]
ActionName = Literal["selftest", "restart", "reboot", "out_of_service", "back_in_service", "fetch_logs",
                     "install_update"]
# A journal excerpt must fit one message with room for the envelope.
ACTION_DETAIL_MAX = MAX_MESSAGE_BYTES - 2048
Word = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.+:~ -]{0,80}$")]


class SelfTestSummary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ok: bool
    at: Annotated[str, Field(max_length=40)]  # ISO 8601, UTC
    failed: Annotated[list[Annotated[str, Field(pattern=r"^[a-z_]{2,32}$")]], Field(max_length=16)] = []


class UpdateState(BaseModel):
    """Where the booth stands with a software update (RAUC slots, appliance/update.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    state: Literal["none", "installing", "installed", "failed", "rolled_back", "good"] = "none"
    booted_slot: Word | None = None
    target_version: Word | None = None
    detail: Annotated[str, Field(max_length=200)] = ""


class Health(Message):
    """booth -> hub: the booth's figures for technicians. ``seq`` is echoed by ``health_ack``
    so the booth can measure the link's round trip itself."""

    type: Literal["health"] = "health"
    seq: Annotated[int, Field(ge=0)]
    version: Word
    os: Annotated[str, Field(max_length=80)]
    uptime_s: Annotated[float, Field(ge=0)]
    link_rtt_ms: Annotated[float, Field(ge=0, le=600_000)] | None = None
    watchdog_restarts: Annotated[int, Field(ge=0)] = 0
    devices: dict[Literal["camera", "microphone", "speaker", "button", "led"], DeviceState] = {}
    selftest: SelfTestSummary | None = None
    disk_free_bytes: Annotated[int, Field(ge=0)] | None = None
    cpu_temp_c: Annotated[float, Field(ge=-50, le=150)] | None = None
    activity: Activity
    out_of_service_reason: Literal["technician", "device_missing"] | None = None
    update: UpdateState = UpdateState()
    max_bytes: ClassVar[int] = 2048


class HealthAck(Message):
    """hub -> booth: the health report ``seq`` arrived."""

    type: Literal["health_ack"] = "health_ack"
    seq: Annotated[int, Field(ge=0)]


class FleetAction(Message):
    """hub -> booth: a technician's action. ``force`` is set only after the technician saw the
    warning that a customer is waiting or in a call."""

    type: Literal["fleet_action"] = "fleet_action"
    action_id: Id
    action: ActionName
    force: bool = False
    hours: Annotated[int, Field(ge=1, le=168)] | None = None  # fetch_logs
    bundle_url: Annotated[str, Field(pattern=r"^https?://\S{3,500}$")] | None = None  # install_update
    version: Word | None = None  # install_update: the version the bundle brings


class ActionResult(Message):
    """booth -> hub: how the action went; ``detail`` is the self-test table, the journal, or why not."""

    type: Literal["action_result"] = "action_result"
    action_id: Id
    ok: bool
    refused: Literal["busy", "unsupported", "failed"] | None = None
    detail: Annotated[str, Field(max_length=ACTION_DETAIL_MAX)] = ""
    max_bytes: ClassVar[int] = MAX_MESSAGE_BYTES


FLEET_BOOTH_TO_HUB = (Health, ActionResult)
FLEET_HUB_TO_BOOTH = (HealthAck, FleetAction)
