"""Signed update bundles with the real RAUC: built with the office's key (a test PKI made here with
openssl), refused when signed with another key or changed after signing, and the booth's RAUC
system.conf accepted by RAUC itself. The A/B install, the reboot and the fallback need the VM of
the appliance issue and are not proven here."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from provisioning.bundle import make_bundle, verify_bundle
from provisioning.errors import BundleRefused
from videokiosk.cli import main

pytestmark = pytest.mark.skipif(not (shutil.which("rauc") and shutil.which("mksquashfs") and shutil.which("openssl")),
                                reason="needs rauc, squashfs-tools and openssl (scripts/system-packages.txt)")
RAUC = Path(__file__).parents[2] / "provisioning" / "rauc"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def office_pki(where: Path, name: str) -> dict[str, Path]:
    """A CA and a signing certificate under it, as an office would make them once."""
    where.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
            "-subj", f"/CN={name} update CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=where)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "sign.key", "-out", "sign.csr", "-subj", f"/CN={name} signing",
            cwd=where)
    (where / "ext.cnf").write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n")
    openssl("x509", "-req", "-in", "sign.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "sign.pem",
            "-days", "30", "-extfile", "ext.cnf", cwd=where)
    return {"ca": where / "ca.pem", "cert": where / "sign.pem", "key": where / "sign.key"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    base = tmp_path_factory.mktemp("pki")
    return {"office": office_pki(base / "office", "Jobcenter Musterstadt"), "other": office_pki(base / "other", "Someone else")}


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory) -> Path:
    """A small ext4 root file system image holding the version (and enough data for a verity bundle)."""
    base = tmp_path_factory.mktemp("rootfs")
    tree = base / "tree" / "etc"
    tree.mkdir(parents=True)
    (tree / "videokiosk-version").write_text("0.2.0\n")
    (tree / "payload").write_bytes(Path("/dev/urandom").open("rb").read(64 * 1024))
    image = base / "rootfs.ext4"
    subprocess.run(["mkfs.ext4", "-q", "-d", str(base / "tree"), str(image), "8M"], check=True, capture_output=True)
    return image


def test_a_bundle_signed_with_the_office_key_is_accepted(pki, rootfs, tmp_path, capsys):
    office = pki["office"]
    bundle = make_bundle(rootfs, "0.2.0", office["cert"], office["key"], tmp_path / "good.raucb", keyring=office["ca"])
    assert verify_bundle(bundle, office["ca"]) == "0.2.0"
    assert main(["bundle", "verify", str(bundle), "--keyring", str(office["ca"])]) == 0
    assert "version 0.2.0, signed with the office's key" in capsys.readouterr().out


def test_a_bundle_signed_with_another_key_is_refused_with_a_clear_message(pki, rootfs, tmp_path, capsys):
    other = pki["other"]
    bundle = make_bundle(rootfs, "0.2.0", other["cert"], other["key"], tmp_path / "foreign.raucb")
    with pytest.raises(BundleRefused, match="not signed with this office's update key"):
        verify_bundle(bundle, pki["office"]["ca"])
    assert main(["bundle", "verify", str(bundle), "--keyring", str(pki["office"]["ca"])]) == 1
    err = capsys.readouterr().err
    assert "foreign.raucb is refused: it is not signed with this office's update key" in err
    assert "Traceback" not in err


def test_a_bundle_changed_after_signing_is_refused(pki, rootfs, tmp_path):
    office = pki["office"]
    bundle = make_bundle(rootfs, "0.2.0", office["cert"], office["key"], tmp_path / "good.raucb")
    data = bytearray(bundle.read_bytes())
    data[4096] ^= 0xFF  # one bit of the payload, as a broken download or an attacker would
    tampered = tmp_path / "tampered.raucb"
    tampered.write_bytes(bytes(data))
    with pytest.raises(BundleRefused, match="changed after signing"):
        verify_bundle(tampered, office["ca"])


def test_bad_input_gets_a_clear_error(pki, rootfs, tmp_path):
    office = pki["office"]
    with pytest.raises(BundleRefused, match="version"):
        make_bundle(rootfs, "1.0 beta; rm", office["cert"], office["key"], tmp_path / "x.raucb")
    with pytest.raises(BundleRefused, match="no such root file system image"):
        make_bundle(tmp_path / "missing.ext4", "1.0", office["cert"], office["key"], tmp_path / "x.raucb")
    with pytest.raises(BundleRefused, match="no such bundle"):
        verify_bundle(tmp_path / "missing.raucb", office["ca"])


def test_the_booths_system_conf_is_accepted_by_rauc_and_only_takes_verity_bundles(pki, rootfs, tmp_path):
    office = pki["office"]
    bundle = make_bundle(rootfs, "0.2.0", office["cert"], office["key"], tmp_path / "good.raucb")
    conf = tmp_path / "system.conf"
    conf.write_text((RAUC / "system.conf").read_text().replace("/etc/rauc/keyring.pem", str(office["ca"]))
                    .replace("/var/lib/rauc", str(tmp_path / "rauc-data")))
    result = subprocess.run(["rauc", f"--conf={conf}", "info", str(bundle)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "videokiosk-booth" in result.stdout  # the bundle's compatible matches the booth's
    text = (RAUC / "system.conf").read_text()
    assert "bundle-formats=-plain" in text and "[slot.rootfs.0]" in text and "[slot.rootfs.1]" in text


def test_every_bundle_carries_the_hook_that_moves_the_enrolment_into_the_new_slot(pki, rootfs, tmp_path):
    """/etc/videokiosk is on the root slot: without the hook a new slot cannot reach the hub, is never
    marked good and every update rolls back (tests/vm/test_update.py proves the hook on a booth)."""
    office = pki["office"]
    bundle = make_bundle(rootfs, "0.2.0", office["cert"], office["key"], tmp_path / "good.raucb")
    info = subprocess.run(["rauc", f"--keyring={office['ca']}", "info", "--output-format=shell", str(bundle)],
                          capture_output=True, text=True, timeout=120)
    assert "RAUC_IMAGE_HOOKS_0='post-install'" in info.stdout, info.stdout + info.stderr
    subprocess.run(["rauc", f"--keyring={office['ca']}", "extract", str(bundle), str(tmp_path / "payload")], check=True,
                   capture_output=True, timeout=120)
    hook = tmp_path / "payload" / "hook"
    assert hook.read_text() == (RAUC / "hook").read_text() and hook.stat().st_mode & 0o111
