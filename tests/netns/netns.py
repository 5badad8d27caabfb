"""Network namespaces for the NAT/firewall tests: booth and advisor each in their own namespace,
and a "relay" namespace (hub + coturn) that both reach but that forwards nothing between them.

    booth ns  10.77.1.1 --veth-- 10.77.1.2  relay ns  10.77.2.2 --veth-- 10.77.2.1  advisor ns
                                  (ip_forward off: no route booth <-> advisor)

Only addresses this module creates, inside namespaces it creates (and deletes again).

Example::

    with Topology.create() as net:
        net.run("booth", "ping", "-c1", "10.77.2.2")
"""

from __future__ import annotations

import os
import shutil
import subprocess

BOOTH_IP, RELAY_B_IP, RELAY_A_IP, ADVISOR_IP = "10.77.1.1", "10.77.1.2", "10.77.2.2", "10.77.2.1"


def cannot_create_namespaces() -> str | None:
    """Why namespaces cannot be made here, or None if they can."""
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is missing"
    if os.geteuid() != 0:
        return "creating network namespaces needs root (CAP_SYS_ADMIN)"
    name = f"vk-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


class Topology:
    def __init__(self) -> None:
        tag = f"{os.getpid() % 100000}"
        self.ns = {"booth": f"vkb{tag}", "relay": f"vkr{tag}", "advisor": f"vka{tag}"}
        self._tag = tag

    @classmethod
    def create(cls) -> "Topology":
        net = cls()
        try:
            net._build()
        except subprocess.CalledProcessError:
            net.destroy()
            raise
        return net

    def _ip(self, *args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    def _in(self, where: str, *args: str) -> None:
        subprocess.run(["ip", "netns", "exec", self.ns[where], *args], check=True, capture_output=True)

    def _build(self) -> None:
        t = self._tag
        for name in self.ns.values():
            self._ip("netns", "add", name)
        self.booth_if, self.advisor_if = f"vb{t}", f"va{t}"
        for side, inner, outer, ip_in, ip_out in (("booth", self.booth_if, f"rb{t}", BOOTH_IP, RELAY_B_IP),
                                                   ("advisor", self.advisor_if, f"ra{t}", ADVISOR_IP, RELAY_A_IP)):
            self._ip("link", "add", inner, "netns", self.ns[side], "type", "veth", "peer", "name", outer, "netns", self.ns["relay"])
            self._in(side, "ip", "addr", "add", f"{ip_in}/24", "dev", inner)
            self._in(side, "ip", "link", "set", inner, "up")
            self._in(side, "ip", "link", "set", "lo", "up")
            self._in("relay", "ip", "addr", "add", f"{ip_out}/24", "dev", outer)
            self._in("relay", "ip", "link", "set", outer, "up")
            # Each side may reach the relay namespace's other address (local there), never the other side.
            self._in(side, "ip", "route", "add", "default", "via", ip_out)
        self._in("relay", "ip", "link", "set", "lo", "up")
        self._in("relay", "sysctl", "-qw", "net.ipv4.ip_forward=0")

    def command(self, where: str, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns[where], *args]

    def run(self, where: str, *args: str, timeout: float = 10) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(where, *args), capture_output=True, text=True, timeout=timeout)

    def link(self, where: str, up: bool) -> None:
        """Pull (or plug back) the cable of the booth or the advisor."""
        iface = self.booth_if if where == "booth" else self.advisor_if
        self._in(where, "ip", "link", "set", iface, "up" if up else "down")
        if up:
            self._in(where, "ip", "route", "replace", "default", "via", RELAY_B_IP if where == "booth" else RELAY_A_IP)

    def destroy(self) -> None:
        for name in self.ns.values():
            subprocess.run(["ip", "netns", "del", name], capture_output=True)

    def __enter__(self) -> "Topology":
        return self

    def __exit__(self, *exc) -> None:
        self.destroy()
