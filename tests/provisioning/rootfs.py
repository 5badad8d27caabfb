"""A Debian root file system built with debootstrap, cached between test runs.

The first run builds it (minbase plus systemd and python3-venv, about a minute) into
``~/.cache/videokiosk/`` from the mirror apt already uses; later runs copy the cached tree. Tests
that need it skip, saying why, when this machine cannot run debootstrap (not root, no debootstrap,
no Debian mirror configured).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

CACHE = Path(os.environ.get("VIDEOKIOSK_CACHE", Path.home() / ".cache" / "videokiosk"))
INCLUDE = "systemd,python3-venv"
ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf"}


class CannotBootstrap(Exception):
    """This machine cannot build a Debian root file system; the message says why."""


def debian_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian archive apt uses here (deb822 ``.sources`` or one-line ``sources.list``)."""
    files = sorted(apt_dir.glob("sources.list.d/*.sources")) + [apt_dir / "sources.list"]
    files += sorted(apt_dir.glob("sources.list.d/*.list"))
    for path in files:
        if not path.is_file():
            continue
        for match in re.finditer(r"(?m)^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)", path.read_text()):
            uri = match.group(1).rstrip("/")
            if uri.endswith("/debian"):
                return uri
    raise CannotBootstrap("no Debian mirror in /etc/apt/sources.list*")


def codename() -> str:
    text = Path("/etc/os-release").read_text() if Path("/etc/os-release").exists() else ""
    match = re.search(r"^VERSION_CODENAME=(\w+)", text, re.M)
    return match.group(1) if match else "bookworm"


def debootstrap_binary() -> str:
    found = shutil.which("debootstrap") or ("/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").exists() else None)
    if found is None:
        raise CannotBootstrap("debootstrap is not installed (scripts/system-packages.txt lists it; `make test`)")
    return found


def host_arch() -> str:
    arch = ARCHES.get(platform.machine())
    if arch is None:
        raise CannotBootstrap(f"no Debian architecture known for {platform.machine()}")
    return arch


def emulator_ready(arch: str) -> None:
    """A foreign root runs its programs through qemu-user-static, registered with binfmt_misc
    (``scripts/binfmt-arm64`` does it); say how when it is not."""
    if arch == host_arch():
        return
    qemu = {"arm64": "aarch64", "armhf": "arm"}.get(arch, arch)
    entry = Path(f"/proc/sys/fs/binfmt_misc/qemu-{qemu}")
    if not entry.exists() or "enabled" not in entry.read_text():
        raise CannotBootstrap(f"{arch} programs cannot run here: qemu-user-static is not registered with "
                              f"binfmt_misc (run scripts/binfmt-arm64 as root)")


def cached_rootfs(arch: str | None = None, include: str = INCLUDE) -> Path:
    """The cached root file system, built on first use (``arch`` other than the host's runs under
    qemu-user-static, about ten times slower)."""
    if os.geteuid() != 0:
        raise CannotBootstrap("debootstrap needs root")
    arch = arch or host_arch()
    emulator_ready(arch)
    suite = codename()
    flavour = "minbase" if include == INCLUDE else "minbase-" + hashlib.sha256(include.encode()).hexdigest()[:8]
    target = CACHE / f"rootfs-{suite}-{arch}-{flavour}"
    if (target / ".videokiosk-complete").exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    # make test runs the suite in two processes (scripts/run-tests) and other checkouts may share the
    # cache: one builds, the others wait for it and take the finished root.
    with open(CACHE / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".videokiosk-complete").exists():
            _debootstrap(target, suite, arch, include)
    return target


def _debootstrap(target: Path, suite: str, arch: str, include: str) -> None:
    binary, mirror = debootstrap_binary(), debian_mirror()
    building = target.with_name(target.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [binary, "--variant=minbase", f"--include={include}", f"--arch={arch}", suite, str(building), mirror],
        capture_output=True, text=True, timeout=3600,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        shutil.rmtree(building, ignore_errors=True)
        raise CannotBootstrap(f"debootstrap {suite} from {mirror} failed:\n{tail}")
    (building / ".videokiosk-complete").write_text(f"{suite} {arch} {mirror}\n")
    shutil.rmtree(target, ignore_errors=True)
    building.rename(target)


def fresh_copy(dest: Path, arch: str | None = None, include: str = INCLUDE) -> Path:
    """A private copy of the cached root (device nodes, owners and links kept), for one session."""
    source = cached_rootfs(arch, include)
    subprocess.run(["cp", "-a", str(source), str(dest)], check=True, timeout=600)
    return dest
