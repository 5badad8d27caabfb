"""The RAUC slot hook (provisioning/rauc/hook) carries the enrolment into the new slot owned by
name: two images that number the videokiosk user and group differently still give the new slot's
daemon its token. Run against two temporary roots (the hook's VIDEOKIOSK_RUNNING_ROOT), as root or
under fakeroot."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

HOOK = Path(__file__).parents[2] / "provisioning" / "rauc" / "hook"
needs_root = pytest.mark.skipif(os.geteuid() != 0 and not shutil.which("fakeroot"),
                                reason="chown to other ids needs root or fakeroot")


def make_root(where: Path, uid: int, gid: int) -> Path:
    """A root whose passwd and group give videokiosk the ids ``uid``/``gid``."""
    (where / "etc").mkdir(parents=True)
    (where / "etc/passwd").write_text(f"root:x:0:0:root:/root:/bin/sh\nvideokiosk:x:{uid}:{gid}::/nonexistent:/usr/sbin/nologin\n")
    (where / "etc/group").write_text(f"root:x:0:\nvideokiosk:x:{gid}:\n")
    return where


def run_hook(running: Path, new: Path, setup: str) -> subprocess.CompletedProcess:
    """``setup`` (shell), the hook, then every copied file's ``path uid gid``, in one (fake)root session."""
    script = f"""set -e
{setup}
RAUC_SLOT_CLASS=rootfs RAUC_SLOT_MOUNT_POINT={new} RAUC_SLOT_BOOTNAME=B VIDEOKIOSK_RUNNING_ROOT={running} \
  sh {HOOK} slot-post-install
cd {new} && find etc/videokiosk -exec stat -c '%n %u %g' {{}} +
"""
    wrapper = [] if os.geteuid() == 0 else ["fakeroot"]
    return subprocess.run([*wrapper, "sh", "-c", script], capture_output=True, text=True, timeout=60)


@needs_root
def test_the_enrolment_is_owned_by_the_new_slots_videokiosk_ids(tmp_path):
    running, new = make_root(tmp_path / "a", 998, 997), make_root(tmp_path / "b", 1234, 1235)
    (new / "etc/videokiosk").mkdir()
    (new / "etc/videokiosk/booth.toml").write_text("# the image's unenrolled config\n")
    etc = running / "etc/videokiosk"
    etc.mkdir()
    (etc / "booth.toml").write_text('[hub]\nurl = "https://hub.example"\n')
    (etc / "device-token").write_text("token\n")
    (etc / "booth-key.pem").write_text("key\n")
    done = run_hook(running, new, f"chown 0:997 {etc} {etc / 'booth.toml'} && chown 998:997 {etc / 'device-token'} "
                                  f"&& chown 0:0 {etc / 'booth-key.pem'} && chmod 0600 {etc / 'device-token'}")
    assert done.returncode == 0, done.stderr
    assert "enrolment carried over into slot B" in done.stdout
    owners = dict(line.split(" ", 1) for line in done.stdout.splitlines() if line.startswith("etc/"))
    assert owners == {"etc/videokiosk": "0 1235", "etc/videokiosk/booth.toml": "0 1235",
                      "etc/videokiosk/device-token": "1234 1235", "etc/videokiosk/booth-key.pem": "0 0"}
    assert (new / "etc/videokiosk/booth.toml").read_text() == (etc / "booth.toml").read_text()
    assert (new / "etc/videokiosk/device-token").stat().st_mode & 0o777 == 0o600


@needs_root
def test_an_owner_the_new_slot_does_not_know_refuses_the_update_with_a_clear_message(tmp_path):
    running, new = make_root(tmp_path / "a", 998, 997), make_root(tmp_path / "b", 1234, 1235)
    (new / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")  # an image without the user
    etc = running / "etc/videokiosk"
    etc.mkdir()
    (etc / "device-token").write_text("token\n")
    done = run_hook(running, new, f"chown 998:997 {etc / 'device-token'}")
    assert done.returncode != 0
    assert "/etc/videokiosk/device-token belongs to 998:997 (videokiosk:videokiosk), which the new slot does not know" \
        in done.stderr, done.stderr
