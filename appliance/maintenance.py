"""What the unprivileged daemon asks of the machine: a reboot, an update, its own journal.

The daemon runs without privileges (systemd/videokiosk-booth.service). A reboot or an update
install is a request file in ``[fleet] request_dir``; the root-owned path unit
(systemd/videokiosk-maintenance.path) starts ``videokiosk maintenance``, which carries it out
(:func:`carry_out`) and removes it. The journal is read with ``[fleet] journal_command`` as the
daemon's own user.

Our logs carry no personal data by construction (the session's random id only); before a journal
excerpt leaves the booth, :func:`scrub` still blanks anything shaped like an IP or e-mail address,
which other programs' lines might hold.

Example::

    >>> scrub("dhcp: lease 10.1.2.3 for anna@example.org")
    'dhcp: lease [address] for [address]'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

log = logging.getLogger("videokiosk.maintenance")

REBOOT, INSTALL = "reboot", "install.json"
INSTALL_FAILED = "install.failed"
# The new slot is written: the daemon asks for the reboot into it once no customer is at the booth
# (the install takes minutes, and a customer may have stepped up meanwhile).
INSTALLED = "install.done"
JOURNAL_TIMEOUT_S = 20.0
_ADDRESS = re.compile(
    r"[\w.+-]+@[\w-]+(\.[\w-]+)+"                 # e-mail
    r"|\b(\d{1,3}\.){3}\d{1,3}\b"                  # IPv4
    r"|\b([0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{0,4}\b"  # IPv6 (enough of it to blank)
)


def scrub(text: str) -> str:
    return _ADDRESS.sub("[address]", text)


def tail_bytes(text: str, limit: int) -> str:
    """The end of ``text`` in at most ``limit`` UTF-8 bytes (the newest lines matter most)."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    cut = raw[-limit:].decode("utf-8", "ignore")
    return cut[cut.find("\n") + 1:] if "\n" in cut else cut


class Requests:
    """The daemon's side: leave a request for the maintenance service."""

    def __init__(self, request_dir: Path) -> None:
        self.dir = request_dir

    def reboot(self) -> None:
        self._write(REBOOT, "reboot\n")
        with contextlib.suppress(OSError):  # asked once: the reboot clears /run anyway
            (self.dir / INSTALLED).unlink(missing_ok=True)

    def installed(self) -> bool:
        """An update waits in the other slot for the reboot into it."""
        return (self.dir / INSTALLED).exists()

    def install(self, bundle_url: str, version: str | None) -> None:
        (self.dir / INSTALL_FAILED).unlink(missing_ok=True)
        self._write(INSTALL, json.dumps({"url": bundle_url, "version": version}))

    def install_failure(self) -> str | None:
        """What the maintenance service said when the last install failed (None: it did not)."""
        try:
            return (self.dir / INSTALL_FAILED).read_text()[:200]
        except OSError:
            return None

    def _write(self, name: str, text: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        partial = self.dir / f".{name}.tmp"
        partial.write_text(text)
        partial.replace(self.dir / name)  # the path unit sees the whole request or none


async def read_journal(command: Sequence[str], hours: int, limit: int) -> tuple[bool, str]:
    """(ok, text): the last ``hours`` of the journal, scrubbed and cut to ``limit`` bytes."""
    argv = [part.replace("{hours}", str(hours)) for part in command]
    try:
        proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), JOURNAL_TIMEOUT_S)
    except FileNotFoundError:
        return False, f"{argv[0]} is not installed on this booth"
    except (OSError, asyncio.TimeoutError) as exc:
        return False, f"reading the journal failed ({type(exc).__name__})"
    if proc.returncode != 0:
        why = scrub(err.decode("utf-8", "replace").strip())[:300]
        return False, f"{argv[0]} exited with {proc.returncode}: {why}"
    return True, tail_bytes(scrub(out.decode("utf-8", "replace")), limit)


# --- `videokiosk maintenance`: the root side ------------------------------------------------

Runner = Callable[[list[str]], subprocess.CompletedProcess]


def _read_request(path: Path) -> str:
    # The directory belongs to the daemon's user: never follow a link it may have planted there.
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, encoding="utf-8") as f:
        return f.read(4096)


def _write_reply(path: Path, text: str) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _rauc_reason(output: str) -> str:
    """Why ``rauc install`` failed. Through RAUC's service its last line only says "Installing `URL`
    failed"; the reason (a signature from another key, say) is on its ``LastError:`` line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line.split("LastError:", 1)[1].strip() for line in lines if "LastError:" in line]
    return errors[-1] if errors else (lines[-1] if lines else "rauc install failed without a word")


def carry_out(request_dir: Path, run: Runner = lambda argv: subprocess.run(argv, capture_output=True, text=True)) -> list[str]:
    """Do what the daemon asked (as root); returns the commands run. An update installs into the
    other slot (RAUC checks the bundle's signature against the office's keyring first), and the
    daemon, told so, asks for the reboot into it when no customer is at the booth; a refused
    bundle's reason is written back for the daemon to report."""
    done: list[str] = []
    install = request_dir / INSTALL
    if install.exists() or install.is_symlink():
        try:
            url = str(json.loads(_read_request(install))["url"])
        except (OSError, ValueError, KeyError, TypeError):
            url = ""
        install.unlink(missing_ok=True)
        url = url if re.match(r"^https?://\S{3,500}$", url) else ""
        result = run(["rauc", "install", url]) if url else None
        done.append(f"rauc install {url}")
        if result is None or result.returncode != 0:
            why = _rauc_reason(result.stdout + "\n" + result.stderr) if result else "unreadable request"
            _write_reply(request_dir / INSTALL_FAILED, scrub(why)[:200])
            log.error("update refused: %s", scrub(why))
        else:
            _write_reply(request_dir / INSTALLED, "installed\n")
    if (request_dir / REBOOT).exists() or (request_dir / REBOOT).is_symlink():
        (request_dir / REBOOT).unlink()
        run(["systemctl", "reboot"])
        done.append("systemctl reboot")
    return done


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, default=Path("/run/videokiosk/maintenance"),
                        help="where the booth daemon leaves its requests (default /run/videokiosk/maintenance)")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not args.dir.is_dir():
        print(f"videokiosk maintenance: {args.dir} does not exist: nothing was asked for", file=sys.stderr)
        return 0
    for line in carry_out(args.dir):
        print(line)
    return 0
