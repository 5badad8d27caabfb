"""What a VM test builds before it boots (the image, the A/B root), or a skip that says why not."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .image import CannotBuild
from .machine import QEMU


def built_or_skip(build: Callable[[], Path], what: str) -> Path:
    """``build()``'s result, timed; a skip with the reason when this machine has no qemu or cannot build."""
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed: no TCG or KVM here")
    started = time.monotonic()
    try:
        built = build()
    except CannotBuild as exc:
        pytest.skip(f"cannot build the {what} here: {exc}")
    print(f"\nvm: {what} ready in {time.monotonic() - started:.0f} s ({built.name})")
    return built
