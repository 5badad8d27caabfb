"""``videokiosk demo``: a hub and one booth with simulated hardware, in one process, on loopback.

The booth has a moving test pattern for a camera and a tone for a microphone. Open the console
URL it prints, log in as ``demo`` / ``demo`` (the demo only: a real hub refuses to start with that
account), walk the kiosk page to the waiting room, and let the customer in.

    videokiosk demo --hub-port 8080 --booth-port 8081 --data-dir demo-data
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path


from .logs import configure as configure_logging
from .signals import wait_for_signal

DEMO_BOOTH = ("demo-kiosk", "Demo-Kiosk", "Musterstadt")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hub-port", type=int, default=8080, help="port of the advisor console (default 8080)")
    parser.add_argument("--booth-port", type=int, default=8081, help="port of the kiosk page (default 8081)")
    parser.add_argument("--data-dir", type=Path, default=Path("demo-data"), help="where the two SQLite files go")
    parser.add_argument("--verbose", "-v", action="store_true")


def run(args: argparse.Namespace) -> int:
    configure_logging(args.verbose)  # every logger, aiortc's and aioice's too, without personal data
    return asyncio.run(serve(args.hub_port, args.booth_port, args.data_dir))


async def start_demo(hub_port: int, booth_port: int, data_dir: Path):
    """Start hub and booth; returns (hub URL, booth URL, stop coroutine function)."""
    from appliance.config import parse_config
    from appliance.daemon import Booth
    from hub.app import HubParts, start_server
    from hub.config import HubConfig
    from hub.roles import LEAD, TECHNICIAN, grant_role
    from hub.users import DEMO_USER

    data_dir.mkdir(parents=True, exist_ok=True)
    hub_config = HubConfig.model_validate({
        "server": {"host": "127.0.0.1", "port": hub_port},
        "store": {"path": str(data_dir / "hub.db")},
        # No SMTP in the demo: invitations land in this folder as .eml files (printed as they arrive).
        "mail": {"eml_dir": str(data_dir / "mails"), "public_url": f"http://127.0.0.1:{hub_port or 8080}"},
    })
    parts = HubParts.open(hub_config)
    parts.users.add_demo_account()
    grant_role(parts.db, DEMO_USER, LEAD)  # so the demo shows the statistics page too
    grant_role(parts.db, DEMO_USER, TECHNICIAN)  # and the fleet page
    token = parts.registry.create_booth(*DEMO_BOOTH)
    # The same listener as a real hub: idle and slow connections closed, a cap per address.
    runner, listener = await start_server(parts, "127.0.0.1", hub_port)
    hub_url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"

    booth_config = parse_config({
        "booth": {"id": DEMO_BOOTH[0], "name": DEMO_BOOTH[1], "location": DEMO_BOOTH[2]},
        "hub": {"url": hub_url, "token": token},
        "ui": {"port": booth_port},
        "store": {"path": str(data_dir / "booth.db")},
        "metrics": {"enabled": False},
        # Nothing privileged picks requests up in the demo: a "reboot" from the fleet page lands here.
        "fleet": {"request_dir": str(data_dir / "maintenance"), "health_interval_s": 10},
    }, "demo")
    booth = Booth(booth_config)
    booth_url = await booth.start(port=booth_port)

    async def stop() -> None:
        await booth.stop()
        listener.close()
        await runner.cleanup()

    return hub_url, booth_url, stop


async def serve(hub_port: int, booth_port: int, data_dir: Path) -> int:
    hub_url, booth_url, stop = await start_demo(hub_port, booth_port, data_dir)
    print(
        "\nvideokiosk demo is running (Ctrl+C stops it)\n"
        f"  kiosk page (the booth's screen):  {booth_url}\n"
        f"  advisor console:                  {hub_url}/\n"
        f"  statistics (role lead):           {hub_url}/stats\n"
        f"  fleet (role technician):          {hub_url}/fleet\n"
        "  advisor login:                    user demo, password demo\n"
        f"  invitation mails (no SMTP):       {data_dir / 'mails'}\n",
        flush=True,
    )
    printer = asyncio.create_task(print_mails(data_dir / "mails"))
    try:
        await wait_for_signal()
    finally:
        printer.cancel()
        await stop()
    return 0


async def print_mails(folder: Path, every_s: float = 2.0) -> None:
    """The demo's "mail client": subject, recipient and personal link of each new invitation."""
    import email
    from email import policy

    seen: set[Path] = set(folder.glob("*.eml")) if folder.exists() else set()
    while True:
        await asyncio.sleep(every_s)
        for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
            if path in seen:
                continue
            seen.add(path)
            mail = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            body = mail.get_body(("plain",))
            links = [line for line in (body.get_content() if body else "").splitlines() if "/join#" in line]
            print(f"  mail to {mail['To']}: {mail['Subject']}" + (f"\n    {links[0]}" if links else ""), flush=True)
