"""``videokiosk bundle``: build a signed RAUC update bundle, or check one against the office's key.

A bundle holds one root file system image (``rootfs.ext4``), a manifest naming its version
(provisioning/rauc/manifest.raucm.in) and a slot hook (provisioning/rauc/hook) that carries the
booth's enrolment into the new slot. It is signed with the office's signing key; booths trust
only bundles whose certificate chains up to the office CA in their keyring
(``/etc/rauc/keyring.pem``, provisioning/rauc/system.conf). Bundles are in RAUC's ``verity``
format: the booth checks every block as it reads it.

Example::

    $ videokiosk bundle make --rootfs rootfs.ext4 --version 1.4.0 --cert office-signing.pem \\
          --key office-signing.key --keyring office-ca.pem --out videokiosk-1.4.0.raucb
    $ videokiosk bundle verify videokiosk-1.4.0.raucb --keyring office-ca.pem
    videokiosk-1.4.0.raucb: version 1.4.0, signed with the office's key

RAUC quirks met here: a verity bundle's squashfs must be larger than 4 KiB (an all-zero image
compresses below that and is refused); a signing certificate with ``extendedKeyUsage=codeSigning``
fails RAUC's default purpose check ("unsuitable certificate purpose") unless the booth's
system.conf sets ``check-purpose=codesign``: the office's signing certificate carries no extended
key usage.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .errors import BundleRefused

MANIFEST = Path(__file__).parent / "rauc" / "manifest.raucm.in"
HOOK = MANIFEST.with_name("hook")  # carries the booth's enrolment into the new slot
VERSION = re.compile(r"^[A-Za-z0-9_.+:~-]{1,80}$")
TIMEOUT_S = 300


def _rauc(*args: str) -> subprocess.CompletedProcess:
    if shutil.which("rauc") is None:
        raise BundleRefused("rauc is not installed here: apt-get install rauc squashfs-tools")
    return subprocess.run(["rauc", *args], capture_output=True, text=True, timeout=TIMEOUT_S)


def _why(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip() and "rauc-Message" not in line]
    return lines[-1].strip() if lines else f"rauc exited with {result.returncode}"


def make_bundle(rootfs: Path, version: str, cert: Path, key: Path, out: Path, keyring: Path | None = None) -> Path:
    """Build ``out`` from the image ``rootfs``; with ``keyring`` RAUC checks the signature it made."""
    if not VERSION.match(version):
        raise BundleRefused(f"version {version!r}: use letters, digits and . _ + : ~ - only")
    if not rootfs.is_file():
        raise BundleRefused(f"{rootfs}: no such root file system image")
    if out.exists():
        raise BundleRefused(f"{out} exists already: RAUC will not overwrite it")
    with tempfile.TemporaryDirectory(prefix="videokiosk-bundle-") as tmp:
        content = Path(tmp) / "content"
        content.mkdir()
        (content / "manifest.raucm").write_text(MANIFEST.read_text().replace("@VERSION@", version))
        shutil.copyfile(rootfs, content / "rootfs.ext4")
        shutil.copyfile(HOOK, content / HOOK.name)
        (content / HOOK.name).chmod(0o755)
        args = [f"--cert={cert}", f"--key={key}", *([f"--keyring={keyring}"] if keyring else []), "bundle", str(content), str(out)]
        result = _rauc(*args)
    if result.returncode != 0:
        raise BundleRefused(f"the bundle was not built: {_why(result)}")
    return out


def verify_bundle(bundle: Path, keyring: Path) -> str:
    """The bundle's version if it is signed with a key the ``keyring`` (the office CA) trusts."""
    if not bundle.is_file():
        raise BundleRefused(f"{bundle}: no such bundle")
    result = _rauc(f"--keyring={keyring}", "info", "--output-format=shell", str(bundle))
    if result.returncode != 0:
        why = _why(result)
        if "signature" in why or "certificate" in why or "Verify error" in why:
            raise BundleRefused(f"{bundle.name} is refused: it is not signed with this office's update key, or it was "
                                f"changed after signing ({why})")
        raise BundleRefused(f"{bundle.name} is refused: {why}")
    # `rauc info` checks the signature over the manifest (which holds the payload's verity root
    # hash) but not the payload itself: extracting it checks every block, as the booth will.
    with tempfile.TemporaryDirectory(prefix="videokiosk-verify-") as tmp:
        extracted = _rauc(f"--keyring={keyring}", "extract", str(bundle), str(Path(tmp) / "payload"))
    if extracted.returncode != 0:
        raise BundleRefused(f"{bundle.name} is refused: it was changed after signing ({_why(extracted)})")
    match = re.search(r"^RAUC_MF_VERSION='?([^'\n]*)'?$", result.stdout, re.M)
    return match.group(1) if match else "?"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bundle_command", metavar="make|verify", required=True)
    make = sub.add_parser("make", help="build a signed bundle from a root file system image")
    make.add_argument("--rootfs", type=Path, required=True, help="the root file system image (ext4)")
    make.add_argument("--version", required=True, help="the version the bundle brings")
    make.add_argument("--cert", type=Path, required=True, help="the office's signing certificate (PEM)")
    make.add_argument("--key", type=Path, required=True, help="its private key (PEM)")
    make.add_argument("--keyring", type=Path, help="the office CA, to check the new bundle right away")
    make.add_argument("--out", type=Path, required=True, help="the bundle to write (.raucb)")
    verify = sub.add_parser("verify", help="check a bundle against the office CA, as a booth would")
    verify.add_argument("bundle", type=Path)
    verify.add_argument("--keyring", type=Path, default=Path("/etc/rauc/keyring.pem"), help="the office CA (PEM)")


def run(args: argparse.Namespace) -> int:
    try:
        if args.bundle_command == "make":
            out = make_bundle(args.rootfs, args.version, args.cert, args.key, args.out, args.keyring)
            print(f"{out}: version {args.version}, signed")
        else:
            version = verify_bundle(args.bundle, args.keyring)
            print(f"{args.bundle.name}: version {version}, signed with the office's key")
        return 0
    except (BundleRefused, subprocess.TimeoutExpired) as exc:
        print(f"videokiosk bundle: {exc}", file=sys.stderr)
        return 1
