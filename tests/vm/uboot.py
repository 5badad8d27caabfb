"""The test harness plays U-Boot for the A/B VM (tests/vm/test_update.py): before each boot it
reads U-Boot's environment from the card's boot partition, runs the slot choice of
provisioning/rauc/boot.cmd on it, writes it back and tells qemu which slot to boot.

The environment is U-Boot's (and libubootenv's ``fw_printenv``/``fw_setenv``, which RAUC's
``uboot`` backend runs in the guest) format: a CRC32 of the data, little-endian, then
NUL-separated ``name=value`` pairs, a second NUL, zero padding to ``ENV_SIZE``.

The choice is read from boot.cmd itself (which bootname boots which partition, how many attempts a
slot gets when the environment has none), so the harness cannot drift from the script a booth runs.

Example::

    >>> script = BootScript.from_boot_cmd()
    >>> env, slot = choose({}, script)
    >>> slot, env["BOOT_A_LEFT"], script.partitions[slot]
    ('A', '2', 2)
    >>> parse(serialize(env)) == env
    True
"""

from __future__ import annotations

import re
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

BOOT_CMD = Path(__file__).resolve().parents[2] / "provisioning" / "rauc" / "boot.cmd"
# Where the environment is and how big, as the booth's /etc/fw_env.config says (install.sh installs it).
FW_ENV_CONFIG = BOOT_CMD.with_name("fw_env.config")
_ENV_PATH, _ENV_OFFSET, _ENV_SIZE = next(line.split() for line in FW_ENV_CONFIG.read_text().splitlines()
                                         if line.strip() and not line.startswith("#"))
ENV_FILE = Path(_ENV_PATH).name
ENV_SIZE = int(_ENV_SIZE, 0)


class BadEnvironment(ValueError):
    pass


def parse(raw: bytes) -> dict[str, str]:
    """The variables of an environment image; BadEnvironment when its CRC does not match."""
    if len(raw) < 5:
        raise BadEnvironment(f"{len(raw)} bytes: no environment")
    (crc,), data = struct.unpack_from("<I", raw), raw[4:]
    if zlib.crc32(data) != crc:
        raise BadEnvironment("CRC mismatch")
    pairs = data.split(b"\0\0", 1)[0].split(b"\0")
    return dict(pair.decode().split("=", 1) for pair in pairs if pair)


def serialize(env: dict[str, str], size: int = ENV_SIZE) -> bytes:
    data = b"".join(f"{k}={v}".encode() + b"\0" for k, v in env.items()) + b"\0"
    if len(data) > size - 4:
        raise BadEnvironment(f"{len(data)} bytes of variables do not fit in {size}")
    data = data.ljust(size - 4, b"\0")
    return struct.pack("<I", zlib.crc32(data)) + data


@dataclass(frozen=True)
class BootScript:
    partitions: dict[str, int]  # bootname -> partition number (mmcblk0pN on the Pi)
    attempts: int  # a slot's attempts when the environment names none

    @classmethod
    def from_boot_cmd(cls, text: str | None = None) -> "BootScript":
        text = BOOT_CMD.read_text() if text is None else text
        partitions = {name: int(part) for name, part in re.findall(
            r'"x(\w)" && test \$\{BOOT_\w_LEFT\} -gt 0; then\s+setexpr [^\n]+\n\s+setenv bootpart (\d+)', text)}
        defaults = {int(n) for n in re.findall(r'\|\| setenv BOOT_\w_LEFT (\d+)', text)}
        if set(partitions) != {"A", "B"} or len(defaults) != 1:
            raise BadEnvironment(f"{BOOT_CMD} no longer reads as an A/B script: {partitions} {defaults}")
        return cls(partitions, defaults.pop())


def choose(env: dict[str, str], script: BootScript) -> tuple[dict[str, str], str | None]:
    """boot.cmd on ``env``: the environment it saves and the slot it boots; None: no slot had an
    attempt left, both were reset and U-Boot resets the board (choose again)."""
    env = dict(env)
    env.setdefault("BOOT_ORDER", " ".join(script.partitions))
    for name in script.partitions:
        env.setdefault(f"BOOT_{name}_LEFT", str(script.attempts))
    for name in env["BOOT_ORDER"].split():
        left = int(env.get(f"BOOT_{name}_LEFT", "0"))
        if name in script.partitions and left > 0:
            env[f"BOOT_{name}_LEFT"] = str(left - 1)
            return env, name
    for name in script.partitions:
        env[f"BOOT_{name}_LEFT"] = str(script.attempts)
    return env, None


def read_env(fs: str) -> dict[str, str]:
    """The environment in the ext4 file system ``fs`` (debugfs' ``image?offset=`` name); U-Boot's
    defaults (none) when there is no file or its CRC is wrong, as U-Boot itself does."""
    done = subprocess.run(["debugfs", "-R", f"cat /{ENV_FILE}", fs], capture_output=True, timeout=60)
    try:
        return parse(done.stdout)
    except BadEnvironment:
        return {}


def write_env(fs: str, env: dict[str, str], scratch: Path) -> None:
    """``saveenv``: the environment written into ``fs`` without mounting it."""
    local = scratch / ENV_FILE
    local.write_bytes(serialize(env))
    done = subprocess.run(["debugfs", "-w", "-R", f"rm /{ENV_FILE}", fs], capture_output=True, timeout=60)
    done = subprocess.run(["debugfs", "-w", "-R", f"write {local} /{ENV_FILE}", fs], capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 0 or "rror" in done.stderr.replace("debugfs", ""):
        raise BadEnvironment(f"saveenv failed: {done.stderr.strip()}")
    if read_env(fs) != env:
        raise BadEnvironment("saveenv: the environment read back differs")
