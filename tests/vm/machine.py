"""A booth VM: qemu-system-x86_64 with TCG (KVM fails or hangs on these machines), Debian's kernel,
the booth image as /dev/vda and a test disk with ``run.sh`` as /dev/vdb. systemd is PID 1.

The guest's test agent (tests/vm/guest/vk-test-agent) runs ``run.sh`` and writes to the second
serial port; ``wait_for`` reads those lines. The kernel and systemd talk on the first one
(``console.log``). The user-mode network lets the guest reach the host's loopback at 10.0.2.2.
``display=True`` gives the guest a screen (a virtio GPU, as a Pi has a KMS display) that the test
reads with ``screendump`` through qemu's QMP socket; the guest cannot tell it from a monitor.

Example::

    vm = Machine(workdir, image_copy, script="say hello\\n").start()
    vm.wait_for("VK hello", timeout=300)
    vm.kill()   # a pulled plug
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from .image import CannotBuild, kernel

QEMU = shutil.which("qemu-system-x86_64")
# Helpers every guest script may use: `say WHAT` reports to the host; `await CMD...` retries a
# command until it succeeds (the guest is slow; each script gives its own limits).
PRELUDE = r"""
say() { echo "VK $*"; }
await() { local limit=$1; shift; local end=$((SECONDS + limit)); until "$@"; do
  [ $SECONDS -lt $end ] || { say "timeout: $*"; return 1; }; sleep 0.5; done; }
"""


# Speed only, for TCG: an emulated Intel CPU (the screen's Nehalem) counts as open to Meltdown, so the
# guest's kernel would switch page tables on every system call (KPTI), and qemu's soft TLB is
# flushed with each switch; the other mitigations only cost emulated instructions too.
# Measured on the quiet 2-core machine (3 Dec 2026), the kiosk's boot to the page on the screen:
# 179 s with the mitigations, 150 s without. The booth's own kernel command line is the Pi's
# (provisioning/), never this one.
SPEED_ONLY = "mitigations=off"

# How often the host looks at what the guest shows (its serial lines, its screen): they belong to
# another machine, and no event of the guest's reaches a host-side wait.
POLL_S = 0.5


class GuestTimeout(AssertionError):
    pass


class Machine:
    def __init__(self, workdir: Path, image: Path, script: str, *, memory_mb: int = 2048, cpus: int = 2,
                 cmdline: str = "", files: dict[str, str | bytes] | None = None, root: str = "/dev/vda1",
                 cpu_model: str | None = None, display: bool = False) -> None:
        if QEMU is None:
            raise CannotBuild("qemu-system-x86_64 is not installed (scripts/system-packages.txt lists it)")
        self.workdir = workdir
        self.image = image
        self.memory_mb = memory_mb
        self.cpus = cpus  # each TCG vCPU is a busy host thread: fewer leave the host's cores to others
        # qemu's default model under TCG (qemu64) lacks SSSE3 and SSE4, which Debian's Chromium uses: it
        # dies at start (SIGTRAP/SIGILL) there. Nehalem has them without AVX, which TCG emulates slowly.
        self.cpu_model = cpu_model
        self.cmdline = cmdline  # e.g. systemd.mask=... for a boot that proves something else
        self.root = root  # the A/B test boots the slot its harness-bootloader chose (tests/vm/uboot.py)
        # A virtio GPU, not qemu's standard VGA: cage's DRM backend refuses the bochs device ("PRIME
        # import not supported"); virtio-gpu gives KMS with dumb buffers, as a Pi's display driver does.
        self.display = display
        self.qmp = workdir / "qmp.sock"
        self.console = workdir / "console.log"
        self.agent = workdir / "agent.log"
        self.proc: subprocess.Popen | None = None
        self._test_disk = self._make_test_disk(script, files or {})

    def _make_test_disk(self, script: str, extra: dict[str, str | bytes]) -> Path:
        files = self.workdir / "test-disk"
        shutil.rmtree(files, ignore_errors=True)
        files.mkdir(parents=True)
        (files / "run.sh").write_text(PRELUDE + script)
        for name, content in extra.items():  # read by the script at /run/vk-test/NAME
            path = files / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):  # a tool for the guest (tests/vm/tracing.py): runnable
                path.write_bytes(content)
                path.chmod(0o755)
            else:
                path.write_text(content)
        size_mb = 16 + sum(f.stat().st_size for f in files.rglob("*") if f.is_file()) * 2 // (1 << 20)
        disk = self.workdir / "test-disk.ext4"
        disk.unlink(missing_ok=True)
        subprocess.run(["mkfs.ext4", "-q", "-d", str(files), str(disk), f"{size_mb}M"], check=True, timeout=60)
        return disk

    def set_script(self, script: str, files: dict[str, str | bytes] | None = None) -> None:
        """The script (and files beside it) for the next boot."""
        self._test_disk = self._make_test_disk(script, files or {})

    def start(self) -> "Machine":
        vmlinuz, initrd, _ = kernel()
        for log in (self.console, self.agent):
            log.write_bytes(b"")
        args = [
            QEMU, "-accel", "tcg", "-m", str(self.memory_mb), "-smp", str(self.cpus), "-nodefaults", "-no-reboot",
            *(["-cpu", self.cpu_model] if self.cpu_model else []), "-display", "none", "-vga", "none",
            *(["-device", "virtio-gpu-pci", "-qmp", f"unix:{self.qmp},server=on,wait=off"] if self.display else []),
            "-kernel", str(vmlinuz), "-initrd", str(initrd),
            "-append", f"root={self.root} rw console=ttyS0 net.ifnames=0 panic=-1 {SPEED_ONLY} {self.cmdline}".strip(),
            "-drive", f"file={self.image},if=virtio,format=raw,cache=unsafe",
            "-drive", f"file={self._test_disk},if=virtio,format=raw,readonly=on",
            "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0",
            "-device", "virtio-rng-pci",
            # A board of its own each boot: systemd would derive the machine id from a VM's fixed
            # UUID, where a Pi's first boot of a flashed root makes a random one every time.
            "-uuid", str(uuid.uuid4()),
            "-serial", f"file:{self.console}", "-serial", f"file:{self.agent}",
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.started_at = time.monotonic()
        return self

    def lines(self) -> list[str]:
        """The agent's complete lines so far (a line qemu was still writing when killed is not one)."""
        text = self.agent.read_text(errors="replace")
        complete = text[:text.rfind("\n") + 1]
        return [line.strip() for line in complete.splitlines() if line.startswith("VK ")]

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        """The first agent line matching ``pattern`` (a regex), waiting up to ``timeout`` seconds."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines():
                if found := regex.search(line):
                    return found
                if line.startswith("VK timeout:"):
                    raise GuestTimeout(f"{line}\n{self.tail()}")
                if line.startswith("VK agent-done"):  # the script is over: nothing more will come
                    raise GuestTimeout(f"the guest's script ended before {pattern!r}:\n{self.tail()}")
            if self.proc is not None and self.proc.poll() is not None:
                raise GuestTimeout(f"the VM stopped before {pattern!r}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise GuestTimeout(f"no {pattern!r} within {timeout:.0f} s:\n{self.tail()}")
            time.sleep(POLL_S)

    def screendump(self, dest: Path) -> Path:
        """What the guest's screen shows now, as a PPM file at ``dest`` (``display=True`` only)."""
        assert self.display, "a Machine(display=True) has a screen"
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(60)
            sock.connect(str(self.qmp))
            replies = sock.makefile("r")
            replies.readline()  # qemu's greeting
            for command in ({"execute": "qmp_capabilities"},
                            {"execute": "screendump", "arguments": {"filename": str(dest)}}):
                sock.sendall(json.dumps(command).encode() + b"\n")
                while "return" not in (reply := json.loads(replies.readline())):  # events come in between
                    if "error" in reply:
                        raise AssertionError(f"qemu refused {command['execute']}: {reply['error']}")
        return dest

    def wait_for_screen(self, shown: Callable[[Path], bool], dest: Path, timeout: float) -> bool:
        """Reads the screen into ``dest`` (``screendump``) until ``shown(dest)``, up to ``timeout``
        seconds; whether it was shown. ``dest`` keeps the last read, for the test to report."""
        deadline = time.monotonic() + timeout
        while not shown(self.screendump(dest)):
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL_S)
        return True

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def tail(self, lines: int = 40) -> str:
        agent = self.agent.read_text(errors="replace").splitlines()[-lines:]
        console = self.console.read_text(errors="replace").splitlines()[-lines:]
        return "--- agent ---\n" + "\n".join(agent) + "\n--- console ---\n" + "\n".join(console)

    def kill(self) -> None:
        """SIGKILL qemu: the booth loses power."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def journal(self, dest: Path) -> Path:
        """The guest's persistent journal, read out of the (stopped) image's state partition
        (videokiosk-keep-state keeps it in os/journal there) without mounting it."""
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run(["debugfs", "-R", f"rdump /os/journal {dest}", state_partition(self.image)], capture_output=True,
                       timeout=120)
        return dest / "journal"

    def reboot_as_overlayroot(self, pristine: Path) -> None:
        """The disk as the next boot of a booth finds it: the root file system as flashed (on a booth
        everything written to it went to the RAM overlay), the partition table and the state
        partition as this boot left them. The VM's root is writable (no overlayroot in Debian's
        initrd), so this is how the test makes sure only the state partition carries anything over."""
        assert self.proc is None or self.proc.poll() is not None, "stop the VM first"
        start, _ = _partition(self.image, 2)
        fresh = self.image.with_name(self.image.name + ".next")
        subprocess.run(["cp", "--sparse=always", "--reflink=auto", str(pristine), str(fresh)], check=True, timeout=900)
        with open(self.image, "rb") as old, open(fresh, "r+b") as new:
            new.write(old.read(512))  # the partition table, with the state partition the first boot added
            old.seek(start)
            new.seek(start)
            new.truncate(start)  # the state partition's bytes follow; holes stay holes
            while chunk := old.read(1 << 20):
                if chunk.count(0) == len(chunk):
                    new.seek(len(chunk), 1)
                else:
                    new.write(chunk)
            new.truncate(old.tell())
        fresh.replace(self.image)


def _partition(disk: Path, number: int) -> tuple[int, int]:
    """Byte offset and size of MBR partition ``number`` (1-4) of ``disk``."""
    with open(disk, "rb") as raw:
        mbr = raw.read(512)
    first, sectors = struct.unpack_from("<II", mbr, 446 + 16 * (number - 1) + 8)
    if sectors == 0:
        raise AssertionError(f"{disk} has no partition {number}")
    return first * 512, sectors * 512


def state_partition(disk: Path) -> str:
    """The state partition the first boot made, as e2fsprogs' tools name it (no loop mount)."""
    return f"{disk}?offset={_partition(disk, 2)[0]}"
