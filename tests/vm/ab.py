"""The A/B booth for the update tests (tests/vm/test_update.py): a disk laid out like the Pi's card
(provisioning/rauc/system.conf), with RAUC's real ``uboot`` backend and the test harness playing
U-Boot (tests/vm/uboot.py).

    p1  boot   ext4 "vkboot", mounted at /boot/firmware: U-Boot's environment file (uboot.env)
    p2  slot A the booth's root file system, version as built
    p3  slot B made by the first boot (videokiosk-make-state), as big as slot A, as on a card
    p4  state  made by the first boot behind slot B (videokiosk-make-state)

The root is the VM image's (tests/vm/image.py: the recipe's packages, install.sh, the test agent),
built into a directory of its own (cached under ``~/.cache/videokiosk/vm-ab-*``, never deleted by
image.py's clean-up of other engineers' images), made smaller (no Chromium: the update proofs
boot with the kiosk unit masked) and configured for the VM's slots. Slot images and bundles are
made from it per test with ``mkfs.ext4 -d`` and provisioning/bundle.py.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

from . import uboot
from .image import CACHE, REPO, _digest, _host_suite, _install, _run, _tree_digest, kernel, os_layer

RAUC = REPO / "provisioning" / "rauc"
BOOT_MB = 8
BOOT_OFFSET = 1 << 20  # partition 1, where the harness reads and writes U-Boot's environment
FREE_MB = 1100  # behind slot B: videokiosk-make-state's 1G state partition
# What the update proofs never use (they boot with the kiosk unit masked): smaller slot images,
# a shorter bundle download and install under TCG.
# (Chromium and its fonts are not there at all: the root is the screenless install, image.SCREEN_ONLY.)
SLIMMED = ["usr/share/doc", "usr/share/man", "usr/share/locale",
           "var/cache/apt", "var/lib/apt/lists", "usr/share/icons", "usr/lib/x86_64-linux-gnu/libLLVM-*",
           "usr/lib/x86_64-linux-gnu/dri", *(f"usr/lib/modules/*/kernel/{hardware}" for hardware in (
               "sound", "drivers/gpu", "drivers/media", "drivers/net/wireless", "drivers/net/ethernet", "drivers/scsi",
               "drivers/infiniband", "drivers/iio", "drivers/staging", "drivers/usb", "net/bluetooth", "net/mac80211",
               "net/wireless"))]
VERSION_FILE = "videokiosk/__init__.py"
# Speed only (as test_boot.py's drop-ins): the guest imports the daemon's media stack ~15x slower
# than a Pi, and a daemon that crashes at start should reach the unit's StartLimitAction in three
# tries, not ten. The action itself (a reboot) is the unit's own.
VM_DROPIN = "[Unit]\nStartLimitBurst=3\n[Service]\nTimeoutStartSec=600\nRestartSec=1\n"
# The daemon of the broken bundle: it dies at start, as a bad release would.
CRASH = 'raise SystemExit("videokiosk: this test build\'s daemon crashes at start")\n'


def slot_device(bootpart: int) -> str:
    """The VM's name for the card's partition ``bootpart`` (mmcblk0pN on the Pi)."""
    return f"/dev/vda{bootpart}"


def system_conf() -> str:
    """provisioning/rauc/system.conf with the VM's device names."""
    return (RAUC / "system.conf").read_text().replace("/dev/mmcblk0p", "/dev/vda")


def ab_root() -> Path:
    """The installed booth root, smaller (cached); slot_image configures it for the VM's slots."""
    suite = _host_suite()
    base = os_layer(suite, screen=False)  # the kiosk never runs in this VM: no Chromium to copy and slim
    _, _, version = kernel()
    key = _digest(base.name.encode(), _tree_digest(), version.encode())  # as image.py's: what _install puts in
    root = CACHE / f"vm-ab-{suite}-{key}.root"
    if (root / ".videokiosk-complete").exists():
        return root
    for old in CACHE.glob(f"vm-ab-{suite}-*.root"):  # only this variant's own earlier builds
        shutil.rmtree(old, ignore_errors=True)
    work = root.with_name(root.name + ".building")
    shutil.rmtree(work, ignore_errors=True)
    _run(["cp", "-a", str(base), str(work)], "copying the OS layer", timeout=900)
    _install(work, version)
    _slim(work)
    (work / ".videokiosk-complete").write_text("\n")
    work.rename(root)
    return root


def _slim(root: Path) -> None:
    for pattern in SLIMMED:
        for path in root.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def _configure(root: Path) -> None:
    """The VM's RAUC, U-Boot environment and mounts (every time: cheap, and the cached root keeps
    no stale copy of provisioning/rauc/system.conf)."""
    (root / "etc/rauc").mkdir(parents=True, exist_ok=True)
    (root / "etc/rauc/system.conf").write_text(system_conf())
    shutil.copy(uboot.FW_ENV_CONFIG, root / "etc/fw_env.config")
    # Both slots hold a root labelled vkroot: the kernel's root= names the slot, fstab must not.
    fstab = [line for line in (root / "etc/fstab").read_text().splitlines()
             if not line.startswith(("LABEL=vkroot ", "LABEL=vkboot "))]
    fstab.append("LABEL=vkboot /boot/firmware ext4 defaults,nofail 0 2")
    (root / "etc/fstab").write_text("\n".join(fstab) + "\n")
    (root / "boot/firmware").mkdir(parents=True, exist_ok=True)
    # As the image's own booth.toml (provisioning/booth.toml): an update is kept after a passed self-test.
    config = root / "etc/videokiosk/booth.toml"
    if "[fleet]" not in config.read_text():
        config.write_text(config.read_text() + "\n[fleet]\nselftest_at_start = true\n")
    dropins = root / "etc/systemd/system/videokiosk-booth.service.d"
    dropins.mkdir(parents=True, exist_ok=True)
    (dropins / "vm-ab.conf").write_text(VM_DROPIN)


def _version_file(root: Path) -> Path:
    return next((root / "opt/videokiosk/venv/lib").glob(f"python3*/site-packages/{VERSION_FILE}"))


def slot_image(root: Path, keyring: Path, version: str, out: Path, *, crashes: bool = False) -> Path:
    """An ext4 image of ``root`` saying ``version``, trusting ``keyring`` (its daemon crashing at
    start when ``crashes``)."""
    _configure(root)
    shutil.copy(keyring, root / "etc/rauc/keyring.pem")
    version_file = _version_file(root)
    daemon = version_file.parents[1] / "appliance" / "daemon.py"
    original_version, original_daemon = version_file.read_text(), daemon.read_text()
    try:
        version_file.write_text(original_version.replace('__version__ = "', f'__version__ = "{version}"  # was "', 1))
        if crashes:
            daemon.write_text(CRASH + original_daemon)
        for cached in [*version_file.parent.glob("__pycache__/__init__.*.pyc"), *daemon.parent.glob("__pycache__/daemon.*.pyc")]:
            cached.unlink()
        used = int(subprocess.run(["du", "-sm", str(root)], capture_output=True, text=True, check=True).stdout.split()[0])
        out.unlink(missing_ok=True)
        # Room for RAUC's download of the next bundle: its TMPDIR is on this root (system.conf says why).
        _run(["mkfs.ext4", "-q", "-F", "-L", "vkroot", "-d", str(root), str(out), f"{used * 2 + 200}M"],
             f"mkfs.ext4 -d of slot image {version}")
    finally:
        version_file.write_text(original_version)
        daemon.write_text(original_daemon)
    return out


def ab_disk(out: Path, slot_a: Path, slot_mb: int) -> Path:
    """The card as flashed: boot partition, slot A holding ``slot_a``, free space behind for the
    slot B and the state partition the first boot makes."""
    boot_dir = out.with_name(out.name + ".boot")
    boot_dir.mkdir(exist_ok=True)
    boot = out.with_name(out.name + ".boot.ext4")
    boot.unlink(missing_ok=True)
    _run(["mkfs.ext4", "-q", "-L", "vkboot", "-d", str(boot_dir), str(boot), f"{BOOT_MB}M"], "mkfs.ext4 of vkboot")
    parts = [(BOOT_OFFSET >> 20, BOOT_MB), (1 + BOOT_MB, slot_mb)]
    mbr = bytearray(512)
    mbr[440:444] = b"VKab"
    for i, (start, size) in enumerate(parts):
        mbr[446 + 16 * i:462 + 16 * i] = struct.pack("<B3sB3sII", 0, b"\xfe\xff\xff", 0x83, b"\xfe\xff\xff",
                                                     start << 11, size << 11)
    mbr[510:512] = b"\x55\xaa"
    with open(out, "wb") as disk:
        disk.write(mbr)
        disk.truncate((parts[-1][0] + 2 * slot_mb + FREE_MB) << 20)
        for (start, _), image in zip(parts, (boot, slot_a)):
            _copy_sparse(image, disk, start << 20)
    boot.unlink()
    return out


def _copy_sparse(source: Path, disk, offset: int) -> None:
    with open(source, "rb") as src:
        disk.seek(offset)
        while chunk := src.read(1 << 20):
            if chunk.count(0) == len(chunk):
                disk.seek(len(chunk), os.SEEK_CUR)
            else:
                disk.write(chunk)
