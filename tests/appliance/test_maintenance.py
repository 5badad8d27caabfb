"""The unprivileged daemon's requests and the root side that carries them out; what the booth
reports about an update before and after the reboot (the reboot itself is the VM's to prove)."""

from __future__ import annotations

import os
import subprocess

from appliance.maintenance import Requests, carry_out
from appliance.update import UpdateTracker

URL = "https://updates.example.org/videokiosk-0.2.0.raucb"


class Machine:
    """Records the commands the root side runs; RAUC's answer is given."""

    def __init__(self, rauc_rc: int = 0, rauc_err: str = "") -> None:
        self.ran: list[list[str]] = []
        self.rauc_rc, self.rauc_err = rauc_rc, rauc_err

    def __call__(self, argv: list[str]) -> subprocess.CompletedProcess:
        self.ran.append(argv)
        rc = self.rauc_rc if argv[0] == "rauc" else 0
        return subprocess.CompletedProcess(argv, rc, "", self.rauc_err if argv[0] == "rauc" else "")


def test_an_install_request_installs_and_the_daemon_asks_for_the_reboot(tmp_path):
    requests = Requests(tmp_path)
    requests.install(URL, "0.2.0")
    machine = Machine()
    carry_out(tmp_path, machine)
    assert machine.ran == [["rauc", "install", URL]]  # no reboot of its own: a customer may be there
    assert requests.installed()
    requests.reboot()  # the daemon, once nobody is at the booth (tests/appliance/test_fleet_health.py)
    carry_out(tmp_path, machine)
    assert machine.ran[-1] == ["systemctl", "reboot"]
    assert not list(tmp_path.iterdir())  # every request is used up


def test_a_refused_bundle_is_reported_back_and_nothing_reboots(tmp_path):
    requests = Requests(tmp_path)
    requests.install(URL, "0.2.0")
    machine = Machine(rauc_rc=1, rauc_err="signature verification failed: Verify error: unable to get local issuer certificate")
    carry_out(tmp_path, machine)
    assert machine.ran == [["rauc", "install", URL]]
    assert "signature verification failed" in requests.install_failure()


def test_the_reason_rauc_gives_through_its_service_is_reported_not_its_last_line(tmp_path):
    requests = Requests(tmp_path)
    requests.install("http://10.0.2.2:8000/foreign.raucb", "0.2.0")
    machine = Machine(rauc_rc=1, rauc_err=(
        "installing `http://10.0.2.2:8000/foreign.raucb`: LastError: signature verification failed: Verify error:"
        "unable to get local issuer certificate\n"
        "installing `http://10.0.2.2:8000/foreign.raucb`: idle\nInstalling `http://10.0.2.2:8000/foreign.raucb` failed\n"))
    carry_out(tmp_path, machine)
    reason = requests.install_failure()
    assert reason.startswith("signature verification failed"), reason
    assert "10.0.2.2" not in reason


def test_the_root_side_follows_no_link_the_daemon_planted(tmp_path):
    secret = tmp_path / "shadow"
    secret.write_text("root:x:...\n")
    requests_dir = tmp_path / "requests"
    requests_dir.mkdir()
    os.symlink(secret, requests_dir / "install.json")  # not a request: a link to a root-only file
    os.symlink(secret, requests_dir / "install.failed")
    machine = Machine()
    carry_out(requests_dir, machine)
    assert machine.ran == []  # nothing installed
    assert secret.read_text() == "root:x:...\n"  # and the linked file was not overwritten
    assert not (requests_dir / "install.failed").is_symlink()


def test_what_the_booth_reports_about_an_update_before_and_after_the_reboot(tmp_path):
    boot = ["boot-1"]
    requests = Requests(tmp_path / "requests")

    def tracker(version: str) -> UpdateTracker:
        return UpdateTracker(tmp_path, version, install_failure=requests.install_failure, boot_id=lambda: boot[0])

    tracker("0.1.0").installing("0.2.0")
    assert tracker("0.1.0").state().state == "installing"
    boot[0] = "boot-2"
    assert tracker("0.2.0").state().state == "installed"  # the new slot runs; mark-good decides
    new = tracker("0.2.0")
    new.mark_good()
    assert new.state().state == "good"

    tracker("0.2.0").installing("0.3.0")
    boot[0] = "boot-3"
    state = tracker("0.2.0").state()  # the bootloader went back: the old version runs
    assert (state.state, state.target_version) == ("rolled_back", "0.3.0")
