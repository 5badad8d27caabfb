"""The one command-line entry point, ``videokiosk``, with a subcommand per job.

Each subcommand lives in the package that owns it and is imported only when used, so
``videokiosk --help`` stays fast on a Pi. A subcommand module provides ``configure(parser)`` and
``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__

# name -> (module, one-line help). Order is the order --help shows.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("videokiosk.demo", "run a hub and one booth with simulated hardware on this machine"),
    "booth": ("appliance.daemon", "run the booth daemon (state machine, devices, kiosk UI server)"),
    "hub": ("hub.cli", "run the advisor hub, or manage its users and enrolment codes"),
    "purge": ("appliance.purge_cli", "delete personal data past its 14-day expiry, now"),
    "selftest": ("appliance.selftest_cli", "check camera, audio, button, hub, clock and disk; print a table"),
    "enrol": ("provisioning.enrol", "enrol this booth with a hub using a one-time code"),
    "status": ("appliance.status_cli", "print this booth's health as a table"),
    "bundle": ("provisioning.bundle", "build a signed update bundle (RAUC), or check one against the office's key"),
    "mark-good": ("appliance.mark_good", "after an update: mark the running slot good once the booth is well"),
    "maintenance": ("appliance.maintenance", "carry out the booth daemon's reboot and update requests (root)"),
    "privacy-report": ("videokiosk.register", "print the record of processing activities (GDPR Art. 30), German and English"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="videokiosk",
        description="Video consultations from a self-service booth.",
    )
    parser.add_argument("--version", action="version", version=f"videokiosk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, (module_name, help_line) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_line, description=help_line)
        sp.set_defaults(_module=module_name)
        # Only the chosen subcommand's module is imported, to declare its own arguments.
        if name == chosen:
            importlib.import_module(module_name).configure(sp)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 0
    return int(importlib.import_module(args._module).run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
