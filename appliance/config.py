"""The booth's one config file (TOML), validated once at start and passed down.

Example::

    >>> cfg = BoothConfig.model_validate({"booth": {"id": "jc-halle-1", "name": "Halle 1",
    ...                                             "location": "Musterstadt"}})
    >>> cfg.store.retention_days
    14

A wrong value raises :class:`ConfigError` whose message names the key, the value and what is
allowed; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import urlsplit
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rtc.protocol import BOOTH_ID_PATTERN, BOOTH_TEXT_MAX, LANGUAGES
from videokiosk.config_errors import describe_validation_error
from videokiosk.retention import MAX_RETENTION_DAYS

from .errors import ConfigError

SUPPORTED_LANGUAGES = LANGUAGES  # (rtc/protocol.py: the hub's mails speak them too)
# The consent text promises deletion after 14 days (videokiosk/retention.py): a booth may purge
# sooner, never later.


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BoothSection(_Section):
    id: Annotated[str, Field(pattern=BOOTH_ID_PATTERN)]
    name: Annotated[str, Field(min_length=1, max_length=BOOTH_TEXT_MAX)]
    location: Annotated[str, Field(min_length=1, max_length=BOOTH_TEXT_MAX)]


class HubSection(_Section):
    url: Annotated[str, Field(pattern=r"^(http|https)://[^\s/]+(/.*)?$")] = "http://127.0.0.1:8080"
    token: str = ""
    token_file: Path | None = None
    ca_file: Path | None = None

    @field_validator("url")
    @classmethod
    def _tls_unless_loopback(cls, url: str) -> str:
        # The device token goes in every connection's header: never in clear over a network.
        host = urlsplit(url).hostname or ""
        if url.startswith("http://") and host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("must start with https:// (http:// only for a hub on this machine, 127.0.0.1)")
        return url


class UISection(_Section):
    host: Literal["127.0.0.1", "::1", "localhost"] = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8081
    languages: Annotated[list[str], Field(min_length=1)] = list(SUPPORTED_LANGUAGES)
    default_language: str = "de"
    idle_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 120.0
    still_there_countdown_s: Annotated[float, Field(gt=0, le=300)] = 30.0
    goodbye_s: Annotated[float, Field(gt=0, le=120)] = 8.0
    # Waiting for an advisor involves no touching, so it gets its own, longer inactivity limit.
    waiting_timeout_s: Annotated[float, Field(gt=0, le=7200)] = 1800.0
    # A headset is fitted: the consent screen asks the customer to use it, so nobody overhears.
    headset: bool = False

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, value: list[str]) -> list[str]:
        unknown = [lang for lang in value if lang not in SUPPORTED_LANGUAGES]
        if unknown:
            raise ValueError(f"unknown language(s) {unknown}; allowed: {', '.join(SUPPORTED_LANGUAGES)}")
        return value


class StoreSection(_Section):
    path: Path = Path("/var/lib/videokiosk/booth.db")
    retention_days: Annotated[int, Field(ge=1, le=MAX_RETENTION_DAYS)] = MAX_RETENTION_DAYS
    purge_interval_s: Annotated[float, Field(gt=0)] = 3600.0


class HardwareSection(_Section):
    camera: Literal["fake", "picamera2", "v4l2"] = "fake"
    camera_device: str = "/dev/video0"
    width: Annotated[int, Field(ge=160, le=1920)] = 640
    height: Annotated[int, Field(ge=120, le=1080)] = 480
    fps: Annotated[int, Field(ge=5, le=30)] = 25
    audio: Literal["fake", "alsa"] = "fake"
    audio_capture: str = "default"
    audio_playback: str = "default"
    # ALSA device of the headset socket (speech mode talks there when a headset is plugged in); "" = none
    headset_playback: str = ""
    button: Literal["fake", "gpio", "none"] = "fake"
    button_pin: Annotated[int, Field(ge=0, le=27)] = 17
    led_pin: Annotated[int, Field(ge=0, le=27)] | None = 27
    long_press_s: Annotated[float, Field(gt=0.2, le=10)] = 2.0
    hotplug: Literal["fake", "udev", "none"] = "fake"
    # The advisor's video goes to the kiosk screen as it arrived, not decoded and encoded again
    # (rtc/forward.py); false: re-encoded on the booth (a fallback, and make bench's "before").
    forward_encoded_video: bool = True


class MetricsSection(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 9101


class OutOfServiceSection(_Section):
    # A camera, microphone or speaker missing this long takes the booth out of service by itself;
    # it comes back by itself when the device returns.
    after_device_missing_s: Annotated[float, Field(gt=0, le=86400)] = 120.0
    # Shown on the out-of-service notice (the office's own words; either may be empty).
    opening_hours: Annotated[str, Field(max_length=200)] = ""
    nearest_booth: Annotated[str, Field(max_length=200)] = ""


JOURNAL_COMMAND = ["journalctl", "--unit=videokiosk-booth", "--unit=videokiosk-kiosk", "--since=-{hours}h",
                   "--no-pager", "--output=short-iso", "--quiet"]


class FleetSection(_Section):
    """Health reports and technicians' actions over the hub link (appliance/fleet.py)."""

    health_interval_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    # Run the self-test once the daemon is up (the image turns it on: an update is marked good only
    # after a passed self-test). It plays the test tone, so development setups leave it off.
    selftest_at_start: bool = False
    # A failed self-test at start counts only when it persists: a Pi has no clock of its own and
    # fails the clock check until NTP answers (up to a minute after boot on an office network), and
    # a slow first start can starve the speaker's tone. So the daemon runs it again every
    # selftest_retry_s until it passes, at most selftest_attempts times (two minutes), and
    # `videokiosk mark-good` marks an update bad only after that many failures in a row
    # (appliance/fleet.py:SelfTest.run_until_passed, appliance/mark_good.py:decide). mark-good's
    # --timeout (600 s) must leave room for the whole window.
    selftest_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    selftest_retry_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    # The privileged maintenance service (systemd/videokiosk-maintenance.path) picks up reboot and
    # update requests here: the daemon itself has no privileges.
    request_dir: Path = Path("/run/videokiosk/maintenance")
    # "{hours}" is replaced by the technician's choice. Run as the daemon's user.
    journal_command: Annotated[list[str], Field(min_length=1)] = JOURNAL_COMMAND


class BoothConfig(_Section):
    booth: BoothSection
    hub: HubSection = HubSection()
    ui: UISection = UISection()
    store: StoreSection = StoreSection()
    hardware: HardwareSection = HardwareSection()
    metrics: MetricsSection = MetricsSection()
    out_of_service: OutOfServiceSection = OutOfServiceSection()
    fleet: FleetSection = FleetSection()

    def hub_token(self) -> str:
        """The device token: inline for the demo, from a root-only file on a real booth."""
        if self.hub.token_file is not None:
            try:
                return self.hub.token_file.read_text().strip()
            except OSError as exc:
                raise ConfigError(f"hub.token_file = {self.hub.token_file}: cannot read it ({exc.strerror})") from exc
        return self.hub.token


def parse_config(data: dict, source: str = "<config>") -> BoothConfig:
    try:
        cfg = BoothConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(source, err)) from None
    if cfg.ui.default_language not in cfg.ui.languages:
        raise ConfigError(
            f"{source}: ui.default_language = {cfg.ui.default_language!r}: "
            f"must be one of ui.languages ({', '.join(cfg.ui.languages)})"
        )
    return cfg


def load_config(path: Path | str) -> BoothConfig:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse_config(data, str(path))


def load_for_command(path: Path | str, program: str) -> BoothConfig | None:
    """For a command line: the config, or None after printing why not (the caller exits 2)."""
    import sys

    try:
        return load_config(path)
    except ConfigError as exc:
        print(f"{program}: {exc}", file=sys.stderr)
        return None
