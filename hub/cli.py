"""``videokiosk hub``: serve the hub, or manage its advisors and booths. Every hub command is here.

    videokiosk hub --config hub.toml                 # serve (same as `hub serve`)
    videokiosk hub add-user --config hub.toml anna   # asks for the password
    videokiosk hub add-booth --config hub.toml jc-halle-1 "Halle 1" Musterstadt
    videokiosk hub enrolment-code --config hub.toml --booth jc-halle-1
    videokiosk hub revoke-booth --config hub.toml jc-halle-1   # a stolen booth: cut off at once
    videokiosk hub set-role --config hub.toml anna lead [--remove]

Each command opens the hub's parts (:class:`hub.app.HubParts`) from the config and calls the
library: the CLI mirrors it and holds no logic of its own.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from .errors import HubError
from .roles import ROLES

# name -> one-line help. Order is the order --help shows.
COMMANDS: dict[str, str] = {
    "serve": "serve the advisor console and the booth sockets (the default)",
    "add-user": "create an advisor account or set a new password",
    "remove-user": "delete an advisor account",
    "add-booth": "register a booth and print its device token",
    "enrolment-code": "make a one-time enrolment code for a new booth",
    "revoke-booth": "revoke a booth's device token (a stolen or retired booth): its connection and call end "
                    "at once; enrolling it again gives a new token",
    "set-role": "give an advisor the role lead (statistics) or technician (fleet), or --remove it",
    "purge": "delete personal data past its 14-day expiry, now (the systemd timer runs it hourly)",
    "copy-database": "copy every row (with its expiry) of this hub's database into another, empty one "
                     "(SQLite to PostgreSQL: docs/scale-out.md)",
}


def _add_config(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument("--config", "-c", required=required, default=argparse.SUPPRESS if not required else None,
                        help="the hub's TOML config file")


INSECURE_HELP = "serve plain HTTP on a non-loopback address (only behind a TLS-terminating proxy)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", help="the hub's TOML config file")
    parser.add_argument("--insecure-http", action="store_true", help=INSECURE_HELP)
    sub = parser.add_subparsers(dest="hub_command", metavar="HUB_COMMAND")
    for name, help_line in COMMANDS.items():
        sp = sub.add_parser(name, help=help_line, description=help_line)
        _add_config(sp)
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
        if name == "enrolment-code":
            sp.add_argument("--booth", required=True, metavar="BOOTH_ID", help="the registered booth's id")
        if name == "revoke-booth":
            sp.add_argument("booth_id", help="the registered booth's id")
        if name == "copy-database":
            sp.add_argument("target", metavar="TARGET", help="a postgresql:// URL or a SQLite file, empty")
        if name == "set-role":
            sp.add_argument("username", help="an advisor's user name")
            sp.add_argument("role", choices=list(ROLES), help="; ".join(f"{r}: {what}" for r, what in ROLES.items()))
            sp.add_argument("--remove", action="store_true", help="take the role away instead")


def run(args: argparse.Namespace) -> int:
    command = getattr(args, "hub_command", None) or "serve"
    # The newer commands name themselves in their messages; the first four say "hub".
    prefix = (f"videokiosk hub {command}" if command in ("enrolment-code", "set-role", "purge", "copy-database")
              else "videokiosk hub")
    if not getattr(args, "config", None):
        print(f"{prefix}: --config is required", file=sys.stderr)
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
            _sessions_ended(parts.state)  # a new password logs the advisor out everywhere
        elif command == "remove-user":
            if not parts.users.remove_user(args.username):
                print(f"{prefix}: no advisor {args.username!r}: nothing removed", file=sys.stderr)
                return 2
            print(f"advisor {args.username!r} removed")
            _sessions_ended(parts.state)
        elif command == "add-booth":
            print(parts.registry.create_booth(args.booth_id, args.name, args.location))
            _sessions_ended(parts.state)  # adding it again replaces its token: the old one's socket closes now
        elif command == "revoke-booth":
            parts.registry.revoke(args.booth_id)
            print(f"booth {args.booth_id!r} revoked: its device token opens nothing any more")
            _sessions_ended(parts.state)  # the running hubs close its connection now
        elif command == "enrolment-code":
            return _enrolment_code(parts, args.booth)
        elif command == "set-role":
            done = _set_role(parts, args.username, args.role, args.remove)
            if done == 0:
                _sessions_ended(parts.state)
            return done
        elif command == "copy-database":
            from .storage import open_database
            from .storage.copy import copy_database

            counts = copy_database(parts.db, open_database(args.target))
            print("copied: " + (", ".join(f"{name} {n}" for name, n in counts.items() if n) or "no rows"))
        elif command == "purge":
            from .outbox import purge_eml_folder
            from .purge import purge_all

            counts = {**purge_all(parts.db, parts.clock.now()), "eml_files": purge_eml_folder(parts.db, parts.config.mail.eml_dir)}
            print("purged: " + ", ".join(f"{name} {n}" for name, n in counts.items()))
        return 0
    except (HubError, ValueError) as exc:
        print(f"{prefix}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a store.path that is no folder, not writable, a full disk, a port in use
        print(f"{prefix}: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""), file=sys.stderr)
        return 2


def _sessions_ended(state) -> None:
    """Tell the running hubs now that sessions or booth tokens ended (committed already), so each
    closes the sockets they held at once rather than at its next check (hub/sessions.py)."""
    import asyncio

    from .sessions import announce_sessions_ended

    async def announce() -> None:
        try:
            await announce_sessions_ended(state)
        finally:
            close = getattr(state, "close", None)  # Redis: its connection; in process: nothing to close
            if close is not None:
                await close()

    try:
        asyncio.run(announce())
    except Exception as exc:  # Redis unreachable: the change stands, the hubs' own check finds it
        print(f"videokiosk hub: the running hubs were not told at once ({type(exc).__name__}); "
              "they close the open sockets at their next check (auth.session_check_s)", file=sys.stderr)


def _enrolment_code(parts, booth_id: str) -> int:
    from .enrolment import EnrolmentCodes

    codes = EnrolmentCodes(parts.db, parts.registry, parts.clock)
    code = codes.create(booth_id)
    print(code)
    print(f"for booth {booth_id}; works once, until {codes.expires_at(code):%Y-%m-%d %H:%M} UTC", file=sys.stderr)
    return 0


def _set_role(parts, username: str, role: str, remove: bool) -> int:
    from .roles import grant_role, revoke_role

    if not parts.db["users"].count_where("username = ?", [username]):
        print(f"videokiosk hub set-role: no advisor {username!r}; create one with `videokiosk hub add-user`",
              file=sys.stderr)
        return 2
    (revoke_role if remove else grant_role)(parts.db, username, role)
    print(f"advisor {username!r} {'no longer has' if remove else 'now has'} the role {role!r}")
    return 0


def _serve(parts, insecure_http: bool = False) -> int:
    import asyncio

    from videokiosk.logs import configure as configure_logging

    from .app import refuse_plain_http, serve

    parts.users.refuse_demo_account()  # demo/demo exists only in `videokiosk demo`
    refuse_plain_http(parts.config, insecure_http)
    configure_logging()  # every logger, aiohttp's and aioice's too, without personal data
    try:
        asyncio.run(serve(parts))
    except KeyboardInterrupt:
        pass
    return 0
