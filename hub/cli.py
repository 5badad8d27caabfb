"""``videokiosk hub``: serve the hub, or manage its advisors and booths.

    videokiosk hub --config hub.toml                 # serve (same as `hub serve`)
    videokiosk hub add-user --config hub.toml anna   # asks for the password
    videokiosk hub add-booth --config hub.toml jc-halle-1 "Halle 1" Musterstadt

More sub-subcommands live in their own modules (each with ``configure(parser)`` and ``run(args)``)
and are listed in :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import logging
import sys

from .errors import HubError

# name -> (module, one-line help). "hub.cli" entries are the functions below.
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("hub.cli", "serve the advisor console and the booth sockets (the default)"),
    "add-user": ("hub.cli", "create an advisor account or set a new password"),
    "remove-user": ("hub.cli", "delete an advisor account"),
    "add-booth": ("hub.cli", "register a booth and print its device token"),
    "enrolment-code": ("hub.enrolment", "make a one-time enrolment code for a new booth"),
    "set-role": ("hub.stats", "give an advisor the role lead (sees the statistics), or --remove it"),
}


def _add_config(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument("--config", "-c", required=required, default=argparse.SUPPRESS if not required else None,
                        help="the hub's TOML config file")


INSECURE_HELP = "serve plain HTTP on a non-loopback address (only behind a TLS-terminating proxy)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help="the hub's TOML config file")
    parser.add_argument("--insecure-http", action="store_true", help=INSECURE_HELP)
    sub = parser.add_subparsers(dest="hub_command", metavar="HUB_COMMAND")
    for name, (module, help_line) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_line, description=help_line)
        _add_config(sp)
        if module == "hub.cli":
            if name in ("add-user", "remove-user"):
                sp.add_argument("username")
            if name == "add-user":
                sp.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
            if name == "serve":
                sp.add_argument("--insecure-http", action="store_true", default=argparse.SUPPRESS, help=INSECURE_HELP)
            if name == "add-booth":
                sp.add_argument("booth_id")
                sp.add_argument("name")
                sp.add_argument("location")
        else:
            importlib.import_module(module).configure(sp)


def run(args: argparse.Namespace) -> int:
    command = getattr(args, "hub_command", None) or "serve"
    module = COMMANDS[command][0]
    if module != "hub.cli":
        return int(importlib.import_module(module).run(args) or 0)
    if not getattr(args, "config", None):
        print("videokiosk hub: --config is required", file=sys.stderr)
        return 2
    from .app import HubParts
    from .config import load_hub_config

    try:
        parts = HubParts.open(load_hub_config(args.config))
        if command == "serve":
            return _serve(parts, insecure_http=getattr(args, "insecure_http", False))
        if command == "add-user":
            password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Password: ")
            parts.users.add_user(args.username, password)
            print(f"advisor {args.username!r} saved")
        elif command == "remove-user":
            parts.users.remove_user(args.username)
            print(f"advisor {args.username!r} removed")
        elif command == "add-booth":
            print(parts.registry.create_booth(args.booth_id, args.name, args.location))
        return 0
    except (HubError, ValueError) as exc:
        print(f"videokiosk hub: {exc}", file=sys.stderr)
        return 2


def _serve(parts, insecure_http: bool = False) -> int:
    import asyncio

    from .app import refuse_plain_http, serve

    parts.users.refuse_demo_account()  # demo/demo exists only in `videokiosk demo`
    refuse_plain_http(parts.config, insecure_http)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        asyncio.run(serve(parts))
    except KeyboardInterrupt:
        pass
    return 0
