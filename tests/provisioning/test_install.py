"""provisioning/install.sh against a real Debian root file system (debootstrap, host architecture).

The root is built once and cached (tests/provisioning/rootfs.py); the install runs once per
session, offline: the OS packages are the image recipe's job (--skip-apt) and pip installs the
videokiosk wheel alone (--no-deps), so the venv and its ``videokiosk`` command are real.
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.config import load_config
from tests.provisioning.rootfs import CannotBootstrap, fresh_copy
from tests.systemd.unitroot import SYSTEMD_ANALYZE

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "provisioning" / "install.sh"
STAGE = REPO / "provisioning" / "pi-gen" / "stage-videokiosk"
ENABLED = ["videokiosk-booth.service", "videokiosk-kiosk.service", "videokiosk-purge.timer",
           "videokiosk-hostname.service", "videokiosk-maintenance.path", "videokiosk-mark-good.service",
           "videokiosk-keep-state.service"]
CMDLINE = "console=serial0,115200 console=tty1 root=PARTUUID=0c0ffee-02 rootfstype=ext4 fsck.repair=yes rootwait"
# Raspberry Pi OS's first-boot triggers that grow the root over the card: today's (pi-gen's
# "resize") and the older one, both in one line so one install shows both removed.
GROW_ROOT = " init=/usr/lib/raspberrypi-sys-mods/firstboot resize"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


@dataclass
class Installed:
    root: Path
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]

    def passwd(self, name: str) -> list[str]:
        return self._entry("passwd", name)

    def group_members(self, name: str) -> set[str]:
        members = self._entry("group", name)[3]
        return set(members.split(",")) if members else set()

    def _entry(self, db: str, name: str) -> list[str]:
        for line in (self.root / "etc" / db).read_text().splitlines():
            fields = line.split(":")
            if fields[0] == name:
                return fields
        raise AssertionError(f"{name} is not in {db}")

    def id_of(self, db: str, name: str) -> int:
        return int(self._entry(db, name)[2])


def run_install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(INSTALL), "--root", str(root), *args], capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return next(out.glob("videokiosk-*.whl"))


@pytest.fixture(scope="session")
def installed(tmp_path_factory, wheel) -> Iterator[Installed]:
    try:
        root = fresh_copy(tmp_path_factory.mktemp("booth") / "root")
    except CannotBootstrap as exc:
        pytest.skip(f"cannot build a Debian root file system here: {exc}")
    (root / "boot/firmware").mkdir(parents=True)
    (root / "boot/firmware/cmdline.txt").write_text(CMDLINE + GROW_ROOT + "\n")
    # What openssh-server's and systemd's packages leave in an image root (the OS layer has them).
    (root / "etc/ssh").mkdir(parents=True, exist_ok=True)
    for name in ("ssh_host_ed25519_key", "ssh_host_ed25519_key.pub", "sshd_config"):
        (root / "etc/ssh" / name).write_text("from the image build\n")
    (root / "var/log/journal").mkdir(parents=True, exist_ok=True)
    (root / "var/lib/dbus").mkdir(parents=True, exist_ok=True)
    (root / "var/lib/dbus/machine-id").write_text("1c45673737fc410388761203e6f00601\n")  # as dbus's postinst leaves it
    (root / "etc/machine-id").write_text("0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f\n")
    args = ("--skip-apt", "--no-deps", "--wheel", str(wheel))
    first = run_install(root, *args)
    assert first.returncode == 0, first.stdout + first.stderr
    second = run_install(root, *args)  # an image rebuild or a re-run on a booth
    yield Installed(root, first, second)
    shutil.rmtree(root, ignore_errors=True)  # 300 MB; pytest would keep three sessions of it


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_running_it_twice_is_harmless(installed):
    assert installed.second.returncode == 0, installed.second.stderr
    fstab = (installed.root / "etc/fstab").read_text()
    assert fstab.count("LABEL=vkstate ") == 1
    assert (installed.root / "boot/firmware/cmdline.txt").read_text().count("consoleblank=0") == 1


def test_the_daemon_user_has_the_device_groups_and_no_login(installed):
    fields = installed.passwd("videokiosk")
    assert int(fields[2]) < 1000  # a system user
    assert fields[5:] == ["/var/lib/videokiosk", "/usr/sbin/nologin"]
    for group in ("video", "audio", "gpio"):
        assert "videokiosk" in installed.group_members(group), group


def test_the_kiosk_user_gets_display_and_input_but_never_camera_or_sound(installed):
    assert installed.passwd("vkkiosk")[6] == "/usr/sbin/nologin"
    assert "vkkiosk" in installed.group_members("render")
    assert "vkkiosk" in installed.group_members("input")
    for group in ("video", "audio", "gpio"):
        assert "vkkiosk" not in installed.group_members(group), group


def test_files_and_permissions(installed):
    root = installed.root
    for unit in ENABLED + ["videokiosk-purge.service"]:
        path = root / "etc/systemd/system" / unit
        assert mode(path) == 0o644 and path.stat().st_uid == 0, unit
        assert path.read_text() == (REPO / "systemd" / unit).read_text()
    for program in ("videokiosk-kiosk-session", "videokiosk-set-hostname"):
        assert mode(root / "opt/videokiosk/libexec" / program) == 0o755
    policy = root / "etc/chromium/policies/managed/videokiosk.json"
    assert mode(policy) == 0o644 and policy.read_text() == (REPO / "provisioning/chromium-policy.json").read_text()
    assert "pam_systemd.so" in (root / "etc/pam.d/videokiosk-kiosk").read_text()
    assert (root / "usr/local/bin/videokiosk").readlink() == Path("/opt/videokiosk/venv/bin/videokiosk")

    etc = root / "etc/videokiosk"
    assert mode(etc) == 0o750
    assert (etc.stat().st_uid, etc.stat().st_gid) == (0, installed.id_of("group", "videokiosk"))
    config = etc / "booth.toml"
    assert mode(config) == 0o644 and config.stat().st_uid == 0  # the daemon cannot rewrite it
    assert load_config(config).hardware.camera == "picamera2"

    state = root / "var/lib/videokiosk"
    assert mode(state) == 0o700
    assert state.stat().st_uid == installed.id_of("passwd", "videokiosk")


def test_units_are_enabled_and_the_screen_target_is_the_default(installed):
    done = subprocess.run(["systemctl", f"--root={installed.root}", "is-enabled", *ENABLED],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["enabled"] * len(ENABLED), done.stdout + done.stderr
    assert (installed.root / "etc/systemd/system/default.target").readlink().name == "graphical.target"


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze missing")
def test_systemd_analyze_verify_passes_inside_the_installed_root(installed):
    units = [str(installed.root / "etc/systemd/system" / name) for name in ENABLED + ["videokiosk-purge.service"]]
    done = subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", f"--root={installed.root}", *units],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_venv_sees_system_packages_and_its_command_runs(installed):
    cfg = (installed.root / "opt/videokiosk/venv/pyvenv.cfg").read_text()
    assert re.search(r"^include-system-site-packages = true$", cfg, re.M)
    done = subprocess.run(["chroot", str(installed.root), "/opt/videokiosk/venv/bin/videokiosk", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("videokiosk ")


def test_root_is_read_only_with_an_overlay_and_the_state_stays_writable(installed):
    root = installed.root
    assert (root / "etc/overlayroot.local.conf").read_text().strip() == 'overlayroot="tmpfs:swap=1,recurse=0"'
    state_mounts = [line.split() for line in (root / "etc/fstab").read_text().splitlines()
                    if line.startswith("LABEL=vkstate ")]
    assert state_mounts[0][1] == "/var/lib/videokiosk"
    assert "nofail" in state_mounts[0][3].split(",")


def test_an_image_carries_no_host_keys_no_machine_id_and_no_journal_of_its_own(installed):
    # Every card flashed from the image would share the build's host keys; videokiosk-keep-state
    # makes them per booth at first boot, onto the state partition, as it does the journal.
    ssh = installed.root / "etc/ssh"
    assert sorted(p.name for p in ssh.iterdir()) == ["sshd_config"]
    # No machine id either: systemd makes one at first boot (and would take dbus's copy of the build's).
    assert (installed.root / "etc/machine-id").read_text() == ""
    assert (installed.root / "var/lib/dbus/machine-id").readlink() == Path("/etc/machine-id")
    assert not (installed.root / "var/log/journal").exists()  # no state partition: journald stays in /run
    journald = (installed.root / "etc/systemd/journald.conf.d/videokiosk.conf").read_text()
    assert "Storage=auto" in journald and "SystemMaxUse=" in journald
    assert mode(installed.root / "opt/videokiosk/libexec/videokiosk-keep-state") == 0o755


def test_no_screen_blanking_and_the_first_boot_leaves_the_cards_free_space_to_the_state_partition(installed):
    cmdline = (installed.root / "boot/firmware/cmdline.txt").read_text()
    # appended to the one line, the root-growing triggers gone, nothing else lost
    assert cmdline.strip() == CMDLINE + " consoleblank=0"
    assert '"BlankTime" "0"' in (installed.root / "etc/X11/xorg.conf.d/10-videokiosk-noblank.conf").read_text()


def test_the_kiosk_user_gets_no_polkit_rule(installed):
    # polkit's defaults let the screen's session take its seat and tty1, even back from a technician's
    # console (tests/vm/test_appliance.py proves it without any rule): the kiosk needs no more.
    rules = installed.root / "etc/polkit-1/rules.d"
    granted = [f.name for f in rules.glob("*") if "vkkiosk" in f.read_text()] if rules.is_dir() else []
    assert granted == []


def test_hostname_pattern(installed):
    root = installed.root
    assert (root / "etc/videokiosk/hostname-prefix").read_text().strip() == "booth"
    (root / "run/test-serial").parent.mkdir(exist_ok=True)
    (root / "run/test-serial").write_bytes(b"10000000ABCDEF12\0")  # as the device tree has it
    done = subprocess.run(["chroot", str(root), "env", "VK_SERIAL_FILE=/run/test-serial",
                           "/opt/videokiosk/libexec/videokiosk-set-hostname", "--print"],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "booth-abcdef12", done.stderr


def test_updates_are_configured_and_trust_only_the_keyring_the_office_gives(installed, tmp_path):
    """RAUC's slots and U-Boot's environment file come with every install; the update CA only with
    --update-keyring, so an image built without one refuses every bundle rather than trusting some key."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.support import certificate, write_pem

    root = installed.root
    rauc = REPO / "provisioning" / "rauc"
    assert (root / "etc/rauc/system.conf").read_text() == (rauc / "system.conf").read_text()
    assert (root / "etc/fw_env.config").read_text() == (rauc / "fw_env.config").read_text()
    assert not (root / "etc/rauc/keyring.pem").exists()
    assert "refuses every update bundle" in installed.first.stdout
    not_pem = tmp_path / "office-ca.pem"
    not_pem.write_text("not a certificate\n")
    refused = run_install(root, "--skip-apt", "--skip-pip", "--update-keyring", str(not_pem))
    assert refused.returncode == 2 and "--update-keyring" in refused.stderr and "Traceback" not in refused.stderr
    key = ec.generate_private_key(ec.SECP256R1())
    ca, _ = write_pem(tmp_path, "office-update-ca", certificate("Jobcenter update CA", key, ca=True))
    given = run_install(root, "--skip-apt", "--skip-pip", "--update-keyring", str(ca))
    assert given.returncode == 0, given.stderr
    assert (root / "etc/rauc/keyring.pem").read_bytes() == ca.read_bytes()
    assert mode(root / "etc/rauc/keyring.pem") == 0o644


def test_bad_usage_gets_a_clear_message(tmp_path):
    missing_root = subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True, timeout=60)
    assert missing_root.returncode == 2 and "--root is required" in missing_root.stderr
    bad_prefix = run_install(tmp_path, "--hostname-prefix", "Booth_1")
    assert bad_prefix.returncode == 2 and "--hostname-prefix" in bad_prefix.stderr


def test_the_image_recipe_calls_the_one_install_script():
    run = (STAGE / "00-videokiosk" / "01-run.sh").read_text()
    assert "/opt/videokiosk/src/provisioning/install.sh --root / --skip-apt" in run and "on_chroot" in run
    packages = (STAGE / "00-videokiosk" / "00-packages").read_text().split()
    for package in ("python3-picamera2", "chromium", "cage", "xwayland", "polkitd", "overlayroot", "python3-venv"):
        assert package in packages
