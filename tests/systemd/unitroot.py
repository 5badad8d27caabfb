"""A throw-away root file system in which ``systemd-analyze verify --root`` can check our units.

``verify`` refuses a unit whose ``ExecStart=`` binary does not exist, and it resolves the binary
inside ``--root``. So the units are checked in a root that holds the host's stock units (for
``multi-user.target`` and friends) plus an executable at every path our units start; a path the
units name but the root lacks still fails, which is what the test wants to catch.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UNIT_DIR = REPO / "systemd"
UNITS = sorted(p.name for p in UNIT_DIR.iterdir() if p.suffix in {".service", ".timer", ".path"})
# Every program our units start, as the install script lays it out on a booth.
EXECUTABLES = (
    "/opt/videokiosk/venv/bin/videokiosk",
    "/opt/videokiosk/libexec/videokiosk-kiosk-session",
    "/opt/videokiosk/libexec/videokiosk-set-hostname",
    "/opt/videokiosk/libexec/videokiosk-make-state",
    "/opt/videokiosk/libexec/videokiosk-keep-state",
)
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def make_root(root: Path, executables: tuple[str, ...] = EXECUTABLES) -> Path:
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    unit_dir = root / "etc/systemd/system"
    unit_dir.mkdir(parents=True)
    for name in UNITS:
        shutil.copy(UNIT_DIR / name, unit_dir / name)
    for exe in executables:
        path = root / exe.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(0o755)
    return root


def verify(root: Path, units: list[str] = UNITS) -> subprocess.CompletedProcess[str]:
    """``systemd-analyze verify`` on ``units`` as installed under ``root``."""
    paths = [str(root / "etc/systemd/system" / name) for name in units]
    return subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", f"--root={root}", *paths],
        capture_output=True, text=True, timeout=120,
    )


def exposure(unit_path: Path) -> float:
    """The overall exposure ``systemd-analyze security --offline`` gives a unit file (0 best, 10 worst)."""
    done = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=true", "--man=no", str(unit_path)],
        capture_output=True, text=True, timeout=120,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", done.stdout)
    if match is None:
        raise AssertionError(f"no exposure level in the output:\n{done.stdout}\n{done.stderr}")
    return float(match.group(1))


def read_unit(name: str) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> every value (keys such as DeviceAllow= repeat)."""
    unit: dict[str, dict[str, list[str]]] = {}
    section = None
    for raw in (UNIT_DIR / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = unit.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        section.setdefault(key, []).append(value)
    return unit


def booth_realtime_priority() -> int:
    """The real-time priority the booth's unit grants its daemon for calls (``LimitRTPRIO=``)."""
    return int(read_unit("videokiosk-booth.service")["Service"]["LimitRTPRIO"][0])
