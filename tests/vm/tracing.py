"""Test-only tracing tools for a guest: the host's ``strace`` and the libraries the guest lacks, put on
the test disk (never into the image: a booth has no tracer). For a question like "what does
Chromium wait on in the VM": ``Machine(..., files=strace_files())`` and in the script
``$STRACE -f -tt -o /var/tmp/trace.log COMMAND`` (after STRACE_ENV; $STRACE unquoted). The host and
the guest are the same Debian release (the image is built from the host's suite), so the host's
binaries run there.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .image import CannotBuild

# On the test disk (/run/vk-test/...): the tracer and a directory of its libraries.
# The libraries are strace's alone: -E takes LD_LIBRARY_PATH away again from the traced command.
STRACE_ENV = ("STRACE='env LD_LIBRARY_PATH=/run/vk-test/trace-lib /run/vk-test/trace-bin/strace "
              "-E LD_LIBRARY_PATH'\n")


def strace_files() -> dict[str, str | bytes]:
    """The host's strace and the libraries it links, but glibc (the guest has the same one)."""
    strace = shutil.which("strace")
    if strace is None:
        raise CannotBuild("strace is not installed on the host (apt-get install strace)")
    linked = subprocess.run(["ldd", strace], capture_output=True, text=True, check=True).stdout
    libraries = [Path(line.split("=>")[1].split()[0]) for line in linked.splitlines()
                 if "=>" in line and "/" in line.split("=>")[1]]
    files: dict[str, str | bytes] = {"trace-bin/strace": Path(strace).read_bytes()}
    for library in libraries:
        if library.name.startswith(("libc.so", "ld-linux")):
            continue  # the guest's own glibc (same release): a second one would be loaded by nobody
        files[f"trace-lib/{library.name}"] = library.resolve().read_bytes()
    return files
