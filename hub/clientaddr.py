"""Who is asking: the client's address, from ``X-Forwarded-For`` only when a trusted proxy says so.

A header anybody can send must not choose the address a limit is counted against: the hub
believes ``X-Forwarded-For`` only from the reverse proxies named in ``server.trusted_proxies``,
and then takes the right-most address that is not one of them (the one the proxy itself saw).
IPv6 clients are counted by their /64, which one household or office usually holds whole.

Example::

    >>> client_key("2001:db8:1:2:3:4:5:6")
    '2001:db8:1:2::/64'
    >>> forwarded_client("10.0.0.2", "198.51.100.7, 10.0.0.9", trusted_networks(["10.0.0.0/8"]))
    '198.51.100.7'
    >>> forwarded_client("192.0.2.1", "198.51.100.7", trusted_networks(["10.0.0.0/8"]))
    '192.0.2.1'
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
APP_TRUSTED_PROXIES = web.AppKey("trusted_proxies", tuple)


def trusted_networks(entries: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def forwarded_client(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    if not forwarded_for or not _is_trusted(peer, trusted):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",")]):
        if not _is_trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a garbled header: count it against the proxy itself
    return peer


def client_key(address: str) -> str:
    """The key a per-client limit counts against."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address or "?"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_of(request: web.Request) -> str:
    """The limit key of the client behind ``request``."""
    trusted = request.app.get(APP_TRUSTED_PROXIES, ())
    return client_key(forwarded_client(request.remote or "?", request.headers.get("X-Forwarded-For"), trusted))


def is_loopback(host: str) -> bool:
    """A listen address or host name that only this machine reaches (plain HTTP is fine there)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
