"""The booth installed into an arm64 root, a Raspberry Pi's architecture, through qemu-user-static.

``make image-test-arm64`` runs it (it registers the emulator first); it is too slow for
``make test``: every arm64 program, Python and pip included, runs emulated. The root is Debian
bookworm arm64 with the OS packages the daemon takes from the OS (numpy, gpiozero, pyudev);
``provisioning/install.sh`` then makes the venv and installs from the hashed lock exactly as the
image recipe does. Proven: the venv's numpy is the OS's, aiortc, av and numpy import together, and
``videokiosk selftest`` with simulated hardware passes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.provisioning.rootfs import INCLUDE, CannotBootstrap, fresh_copy

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "provisioning" / "install.sh"
# What Raspberry Pi OS brings and the venv takes from the OS (--system-site-packages); the Pi-only
# packages (picamera2, lgpio, rpicam-apps) are not in Debian, and the test uses simulated devices.
OS_PACKAGES = INCLUDE + ",python3-numpy,python3-gpiozero,python3-pyudev,ca-certificates"
# The VM booth's config: simulated camera, microphone, speaker and pins, a small picture.
FAKE_BOOTH = (REPO / "tests" / "vm" / "guest" / "booth.toml").read_text()

pytestmark = [
    pytest.mark.slow, pytest.mark.timeout(7200),
    pytest.mark.skipif(os.environ.get("VIDEOKIOSK_ARM64_TESTS") != "1",
                       reason="the arm64 install runs emulated (tens of minutes): make image-test-arm64"),
]


def in_root(root: Path, *args: str, timeout: float = 1800, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["chroot", str(root), *args], capture_output=True, text=True, timeout=timeout, **kw)


def test_the_booth_installs_and_passes_its_self_test_on_arm64(tmp_path, capsys):
    started = time.monotonic()
    try:
        root = fresh_copy(tmp_path / "root", arch="arm64", include=OS_PACKAGES)
    except CannotBootstrap as exc:
        pytest.skip(f"cannot build an arm64 root here: {exc}")
    rooted = time.monotonic()
    assert in_root(root, "uname", "-m").stdout.strip() == "aarch64"
    wheel_dir = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheel_dir), str(REPO)],
                   check=True, timeout=600)
    wheel = next(wheel_dir.glob("videokiosk-*.whl"))
    (root / "boot/firmware").mkdir(parents=True, exist_ok=True)
    (root / "boot/firmware/cmdline.txt").write_text("console=tty1 root=PARTUUID=0c0ffee-02 rootwait\n")
    # pip inside the root trusts what this machine trusts (a proxy's CA, say), for the build only.
    shutil.copy("/etc/ssl/certs/ca-certificates.crt", root / "etc/ssl/certs/vk-build-host-ca.crt")
    env = {**os.environ, "PIP_CERT": "/etc/ssl/certs/vk-build-host-ca.crt",
           "REQUESTS_CA_BUNDLE": "/etc/ssl/certs/vk-build-host-ca.crt"}  # Debian's pip reads the latter
    done = subprocess.run(["bash", str(INSTALL), "--root", str(root), "--skip-apt", "--wheel", str(wheel),
                           "--writable-root"], capture_output=True, text=True, timeout=5400, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    installed = time.monotonic()

    python = "/opt/videokiosk/venv/bin/python"
    probe = in_root(root, python, "-c", "import numpy, av, aiortc; print(numpy.__file__, numpy.__version__, "
                                        "av.__version__, aiortc.__version__)")
    assert probe.returncode == 0, probe.stderr
    numpy_file, numpy_version, av_version, aiortc_version = probe.stdout.split()
    assert numpy_file.startswith("/usr/lib/python3/dist-packages/"), numpy_file  # the OS's, never a wheel's
    assert not list((root / "opt/videokiosk/venv/lib").glob("python3*/site-packages/numpy"))

    (root / "etc/videokiosk").mkdir(parents=True, exist_ok=True)
    (root / "etc/videokiosk/booth.toml").write_text(FAKE_BOOTH)
    (root / "var/lib/videokiosk").mkdir(parents=True, exist_ok=True)
    selftest = in_root(root, "/opt/videokiosk/venv/bin/videokiosk", "selftest", "--no-hub", "--camera-timeout", "120",
                       "--config", "/etc/videokiosk/booth.toml", timeout=1800)
    finished = time.monotonic()
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr
    assert not re.search(r"\bFAIL\b", selftest.stdout), selftest.stdout
    with capsys.disabled():
        print(f"\narm64: root {rooted - started:.0f} s, install {installed - rooted:.0f} s, "
              f"self-test {finished - installed:.0f} s; numpy {numpy_version} (OS), av {av_version}, "
              f"aiortc {aiortc_version}\n{selftest.stdout}")
