"""``videokiosk purge``: delete every personal row past its expiry, now (systemd runs it hourly).

Example::

    $ videokiosk purge --config /etc/videokiosk/booth.toml
    purged: consents 3, participants 2, technical 3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from videokiosk.clock import SystemClock

from .config import load_for_command
from .errors import StoreError
from .store import BoothStore

DEFAULT_CONFIG = Path("/etc/videokiosk/booth.toml")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=f"booth config (default {DEFAULT_CONFIG})")


def run(args: argparse.Namespace) -> int:
    config = load_for_command(args.config, "videokiosk purge")
    if config is None:
        return 2
    clock = SystemClock()
    try:
        store = BoothStore(config.store.path, clock=clock, retention_days=config.store.retention_days)
        try:
            counts = store.purge(clock.now())
        finally:
            store.close()
    except StoreError as exc:
        print(f"videokiosk purge: {exc}", file=sys.stderr)
        return 1
    print("purged: " + ", ".join(f"{table} {n}" for table, n in counts.items()))
    return 0
