"""The booth image for the VM tests: a Debian root with every real dependency installed the way the
image installs them (the recipe's OS packages, then ``provisioning/install.sh`` with pip from the
hashed lock), plus a small test agent, made into an ext4 disk image with ``mkfs.ext4 -d`` (no loop
mounts). Booted with Debian's kernel (the host's ``linux-image-amd64``) by tests/vm/machine.py. The disk has a
partition table like a flashed card: the first boot makes the state partition behind the root.

The Debian release is a parameter (``VIDEOKIOSK_VM_RELEASE``, default: this machine's, bookworm here):
Raspberry Pi OS is bookworm on booths already out and trixie (Python 3.13) since late 2025, and the
same recipe, install.sh and lock must work on both (``make vm-test-trixie``).

Built once per set of inputs and cached under ``~/.cache/videokiosk/`` (``VIDEOKIOSK_CACHE``): the
OS layer is keyed by the suite and package list, the image by every file that goes into it. A
rebuilt image takes a minute or two; the OS layer from scratch several minutes more.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

from tests.provisioning.rootfs import CACHE, CannotBootstrap, debian_mirror, debootstrap_binary

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PACKAGES = REPO / "provisioning" / "pi-gen" / "stage-videokiosk" / "00-videokiosk" / "00-packages"
LOCK = REPO / "provisioning" / "requirements-booth.txt"
# What a VM needs on top of the recipe's packages (the Pi image has these from Raspberry Pi OS).
VM_BASE = ["systemd", "systemd-sysv", "udev", "dbus", "kmod", "iproute2", "python3-venv", "python3-numpy",
           "ca-certificates", "openssh-server", "e2fsprogs", "systemd-timesyncd"]
# Raspberry Pi packages Debian does not have for amd64: the VM's booth uses fake camera, audio and
# pins, and its harness plays U-Boot (tests/vm/uboot.py).
PI_ONLY = {"python3-picamera2", "rpicam-apps-lite", "python3-lgpio", "u-boot-rpi"}
# The screen's packages: only the kiosk unit (cage and its seat's polkit, Chromium and its fonts)
# uses them. The A/B update VM (tests/vm/ab.py) never shows a screen and leaves them out
# (screen=False): Chromium is most of the OS layer's download and install.
SCREEN_ONLY = {"chromium", "cage", "xwayland", "polkitd", "fonts-dejavu-core", "fonts-noto-core"}
IMAGE_MB = 3072
# The disk is laid out as a flashed card: a partition table, the root file system as partition 1
# and free space behind it, where the first boot makes the state partition (videokiosk-make-state).
ROOT_OFFSET_MB = 1
FREE_MB = 1100
APT_ARCHIVES = Path("/var/cache/apt/archives")


class CannotBuild(CannotBootstrap):
    """This machine cannot build the booth image; the message says why."""


class BuildFailed(Exception):
    """A build step failed on a machine that can build: the image's recipe (install.sh, the lock,
    the package list) or the network is broken. Unlike CannotBuild, a test must not skip on it."""


def kernel() -> tuple[Path, Path, str]:
    """Debian's kernel and initrd from /boot (linux-image-amd64) and its version."""
    kernels = sorted(Path("/boot").glob("vmlinuz-*-amd64"))
    if not kernels:
        raise CannotBuild("no Debian kernel in /boot (apt-get install linux-image-amd64)")
    vmlinuz = kernels[-1]
    version = vmlinuz.name.removeprefix("vmlinuz-")
    initrd = Path(f"/boot/initrd.img-{version}")
    if not initrd.exists() or not Path(f"/lib/modules/{version}").is_dir():
        raise CannotBuild(f"the initrd or modules of kernel {version} are missing")
    return vmlinuz, initrd, version


def os_packages(screen: bool = True) -> list[str]:
    """The recipe's packages a VM can have; without the screen's when ``screen`` is False."""
    left_out = PI_ONLY | (set() if screen else SCREEN_ONLY)
    listed = [line.strip() for line in PACKAGES.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return VM_BASE + [p for p in listed if p not in left_out and p not in VM_BASE]


def _run(args: list[str], what: str, timeout: float = 1800, **kw) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
        raise BuildFailed(f"{what} failed:\n{tail}")


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


def os_layer(suite: str, screen: bool = True) -> Path:
    """Debian ``suite`` with the OS packages installed (apt, as the recipe's package list does)."""
    if os.geteuid() != 0:
        raise CannotBuild("building a root file system needs root")
    packages = os_packages(screen)
    key = _digest(suite.encode(), " ".join(packages).encode())
    target = CACHE / f"vm-os-{suite}-amd64-{key}"
    if (target / ".videokiosk-complete").exists():
        return target
    building = target.with_name(target.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.parent.mkdir(parents=True, exist_ok=True)
    mirror = debian_mirror()
    cache_args = [f"--cache-dir={APT_ARCHIVES}"] if APT_ARCHIVES.is_dir() else []
    _run([debootstrap_binary(), "--variant=minbase", *cache_args, "--include=" + ",".join(VM_BASE), "--arch=amd64",
          suite, str(building), mirror], f"debootstrap {suite} from {mirror}")
    (building / "etc/apt/sources.list").write_text(f"deb {mirror} {suite} main\n")
    shutil.copy("/etc/resolv.conf", building / "etc/resolv.conf")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["chroot", str(building), "apt-get", "update", "-qq"], "apt-get update", env=env)
    # Reuse this machine's downloaded packages (same mirror, same suite) before fetching.
    archives = building / "var/cache/apt/archives"
    if suite == _host_suite():
        for deb in APT_ARCHIVES.glob("*.deb"):
            if not (archives / deb.name).exists():
                try:
                    os.link(deb, archives / deb.name)
                except OSError:
                    shutil.copy(deb, archives / deb.name)
    _run(["chroot", str(building), "apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
         "apt-get install of the recipe's packages", env=env)
    _run(["chroot", str(building), "apt-get", "clean"], "apt-get clean", env=env)
    (building / ".videokiosk-complete").write_text(f"{suite} {mirror}\n")
    shutil.rmtree(target, ignore_errors=True)
    building.rename(target)
    return target


def _host_suite() -> str:
    from tests.provisioning.rootfs import codename

    return codename()


def release() -> str:
    """The Debian release the VM tests boot: ``VIDEOKIOSK_VM_RELEASE`` or this machine's. Every cache
    entry is named by it, so releases never share (or remove) each other's OS layer and image."""
    return os.environ.get("VIDEOKIOSK_VM_RELEASE") or _host_suite()


def _tree_digest() -> bytes:
    """Every file install.sh copies, and the agent: a change to any of them rebuilds the image."""
    h = hashlib.sha256()
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard"], capture_output=True,
                            text=True, check=True).stdout.split()
    for name in sorted(listed):
        if name.startswith(("tests/", "bench/", "docs/")) and not name.startswith("tests/vm/guest/"):
            continue
        if name.endswith(".md"):  # prose: never in the image, and a rebuild costs minutes
            continue
        path = REPO / name
        if path.is_file():
            h.update(name.encode() + b"\0" + path.read_bytes())
    h.update(Path(__file__).read_bytes())  # the image's layout
    return h.digest()


def booth_image(suite: str | None = None) -> Path:
    """The ext4 image of the installed booth (cached); copy it before booting (it is written to)."""
    suite = suite or release()
    base = os_layer(suite)
    _, _, version = kernel()
    key = _digest(base.name.encode(), _tree_digest(), version.encode())
    family = f"vm-booth-{suite}"
    image = CACHE / f"{family}-{key}.ext4"
    if image.exists():
        return image
    work = CACHE / f"{family}-{key}.root"
    shutil.rmtree(work, ignore_errors=True)
    _run(["cp", "-a", str(base), str(work)], "copying the OS layer", timeout=900)
    try:
        _install(work, version)
        tmp = image.with_suffix(".building")
        tmp.unlink(missing_ok=True)
        _partition_table(tmp)
        # Straight into partition 1 (-E offset): no loop mount, no second copy of 3 GB.
        _run(["mkfs.ext4", "-q", "-F", "-L", "vkroot", "-E", f"offset={ROOT_OFFSET_MB << 20}", "-d", str(work), str(tmp),
              f"{IMAGE_MB}M"], "mkfs.ext4 -d")
        tmp.rename(image)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for old in CACHE.glob(f"{family}-*.ext4"):  # one image per suite is enough
        if old != image:
            old.unlink(missing_ok=True)
    return image


def _partition_table(disk: Path) -> None:
    """``disk``: an MBR table with partition 1 for the root and FREE_MB unpartitioned behind it."""
    # The MBR written directly (the build machine needs no partitioning tool): one Linux partition,
    # CHS fields saying "use LBA", a disk id, the boot signature.
    entry = struct.pack("<B3sB3sII", 0, b"\xfe\xff\xff", 0x83, b"\xfe\xff\xff", ROOT_OFFSET_MB << 11,
                        IMAGE_MB << 11)
    mbr = bytearray(512)
    mbr[440:444] = b"VKvm"
    mbr[446:462] = entry
    mbr[510:512] = b"\x55\xaa"
    with open(disk, "wb") as out:
        out.write(mbr)
        out.truncate((ROOT_OFFSET_MB + IMAGE_MB + FREE_MB) << 20)


def root_partition(disk: Path) -> str:
    """The root file system inside ``disk`` as e2fsprogs' tools name it (no loop mount)."""
    return f"{disk}?offset={ROOT_OFFSET_MB << 20}"


def _install(root: Path, version: str) -> None:
    wheel_dir = root.with_name(root.name + ".wheel")
    shutil.rmtree(wheel_dir, ignore_errors=True)
    wheel_dir.mkdir(parents=True)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheel_dir), str(REPO)],
         "building the videokiosk wheel", timeout=600)
    wheel = next(wheel_dir.glob("videokiosk-*.whl"))
    # pip inside the root trusts what this machine trusts (a proxy's CA, say), for the build only.
    build_ca = root / "etc/ssl/certs/vk-build-host-ca.crt"
    shutil.copy("/etc/ssl/certs/ca-certificates.crt", build_ca)
    env = {**os.environ, "PIP_CERT": "/etc/ssl/certs/vk-build-host-ca.crt",
           "REQUESTS_CA_BUNDLE": "/etc/ssl/certs/vk-build-host-ca.crt"}  # Debian's pip reads the latter
    try:
        _run(["bash", str(REPO / "provisioning/install.sh"), "--root", str(root), "--skip-apt", "--wheel", str(wheel),
              "--writable-root"], "provisioning/install.sh", timeout=1800, env=env)
    finally:
        build_ca.unlink(missing_ok=True)
    # Debian's kernel modules (virtio network and friends) for the kernel the VM boots. A minbase root
    # has no /lib/modules: without it cp would name the copy /lib/modules itself, where modprobe never
    # looks (the guest then had only what its initrd loaded: no loop, squashfs or dm-verity for RAUC).
    (root / "lib/modules").mkdir(parents=True, exist_ok=True)
    _run(["cp", "-a", f"/lib/modules/{version}", str(root / "lib/modules/")], "copying the kernel modules")
    guest = HERE / "guest"
    (root / "etc/fstab").write_text("LABEL=vkroot / ext4 defaults 0 1\n" + (root / "etc/fstab").read_text())
    (root / "etc/systemd/network").mkdir(parents=True, exist_ok=True)
    shutil.copy(guest / "80-vm.network", root / "etc/systemd/network/80-vm.network")
    shutil.copy(guest / "vk-test-agent.service", root / "etc/systemd/system/vk-test-agent.service")
    shutil.copy(guest / "vk-test-agent", root / "usr/local/sbin/vk-test-agent")
    os.chmod(root / "usr/local/sbin/vk-test-agent", 0o755)
    shutil.copy(guest / "booth.toml", root / "etc/videokiosk/booth.toml")
    os.chmod(root / "etc/videokiosk/booth.toml", 0o644)
    dropins = root / "etc/systemd/system/videokiosk-kiosk.service.d"
    dropins.mkdir(parents=True, exist_ok=True)
    shutil.copy(guest / "kiosk-vm.conf", dropins / "vm.conf")
    _run(["systemctl", f"--root={root}", "enable", "systemd-networkd.service", "vk-test-agent.service"],
         "enabling the network and the test agent")
    (root / "etc/machine-id").write_text("")  # made at first boot, as on a fresh card
    shutil.rmtree(wheel_dir, ignore_errors=True)
