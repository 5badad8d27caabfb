"""The house's import rules (``DESIGN.md``, "Who may import whom"), read from the source itself.

Every ``import`` of our packages counts, also those inside functions (a lazy import is still a
dependency). The rules:

- no import circles between modules;
- ``hw/`` imports nothing of ours; ``kiosk_ui/`` (static files) imports nothing of ours;
- ``rtc/`` imports only ``hw.base`` (device interfaces) and ``videokiosk.clock`` besides itself;
- ``appliance/`` never imports ``hub/`` (of ``videokiosk/`` only the clock, the config errors, the
  retention, the stop signals and the package's ``__version__``, which the fleet reports); ``provisioning/`` imports only ``appliance.config`` and
  ``appliance.errors`` (the booth's config file it writes) besides itself;
- ``hub/`` imports only the wire contracts it shares with the booth (``rtc.protocol`` with its
  ``rtc.errors``, ``rtc.speedtest``'s endpoints, ``provisioning.protocol``), the kiosk page's
  static files (``kiosk_ui``, served to customers at home) and ``videokiosk.clock`` /
  ``videokiosk.config_errors``, and the privacy helpers both sides share (``videokiosk.datafiles``,
  ``videokiosk.logs``, ``videokiosk.surveypool``) and the stop signals (``videokiosk.signals``); and nothing it imports, however indirectly, reaches aiortc, PyAV,
  ``appliance/`` or ``hw/``;
- only ``videokiosk/`` (the CLI and the demo: composition of both sides) may import both sides.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("appliance", "hw", "rtc", "hub", "provisioning", "kiosk_ui", "videokiosk")
THIRD_PARTY_WATCHED = ("aiortc", "av", "redis")

# What both sides keep alike for the consent: private data files erased on delete, logs without
# personal data, survey answers released only in batches.
SHARED_PRIVACY = ("videokiosk.datafiles", "videokiosk.logs", "videokiosk.surveypool")
# How a served process stops (SIGINT, SIGTERM): the same for the booth, the hub and the demo.
SHARED_PROCESS = ("videokiosk.signals",)
# package -> modules (or packages, with a trailing ".") of other packages it may import.
ALLOWED: dict[str, tuple[str, ...]] = {
    "hw": (),
    "kiosk_ui": (),
    "rtc": ("hw.base", "videokiosk.clock"),
    "appliance": ("hw.", "hw", "rtc.", "kiosk_ui", "videokiosk", "videokiosk.clock", "videokiosk.config_errors", "videokiosk.retention",
                  *SHARED_PRIVACY, *SHARED_PROCESS),
    "provisioning": ("appliance.config", "appliance.errors", "videokiosk.config_errors"),
    "hub": ("rtc.protocol", "rtc.errors", "rtc.speedtest", "provisioning.protocol", "kiosk_ui",
            "videokiosk.clock", "videokiosk.config_errors", "videokiosk.retention", *SHARED_PRIVACY, *SHARED_PROCESS),
}
# Wherever the hub's imports lead, these are never among them.
HUB_NEVER = ("aiortc", "av", "appliance", "hw")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """Every module of ours (and the watched third-party packages) ``path`` imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # `from rtc import protocol` imports the module rtc.protocol, not just rtc.
            targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in known else stem for a in node.names]
        else:
            continue
        for target in targets:
            top = target.split(".")[0]
            if top in THIRD_PARTY_WATCHED:
                found.add(top)
            elif top in OURS:
                # The longest known module the name starts with (a class import names its module).
                while target not in known and "." in target:
                    target = target.rpartition(".")[0]
                if target in known and target != name:
                    found.add(target)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    files = {module_name(path, root): path for package in OURS for path in (root / package).rglob("*.py")}
    known = set(files)
    return {name: imports_of(path, name, known) for name, path in files.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in graph:
                continue
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def allowed(importer: str, imported: str) -> bool:
    package, target = importer.split(".")[0], imported.split(".")[0]
    if package == target or target in THIRD_PARTY_WATCHED or package == "videokiosk":
        return True
    if package == "appliance" and target == "videokiosk":
        return imported in ALLOWED["appliance"]
    return any(imported == rule or (rule.endswith(".") and imported.startswith(rule))
               for rule in ALLOWED.get(package, ()))


def broken_rules(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{importer} imports {imported}" for importer, targets in graph.items()
                  for imported in targets if not allowed(importer, imported))


def reachable(graph: dict[str, set[str]], start: Iterable[str]) -> dict[str, str]:
    """Every module reachable from ``start``, each with the module that imports it."""
    seen: dict[str, str] = {}
    todo = list(start)
    while todo:
        node = todo.pop()
        for succ in graph.get(node, ()):
            if succ not in seen:
                seen[succ] = node
                todo.append(succ)
    return seen


def hub_reaches(graph: dict[str, set[str]]) -> list[str]:
    via = reachable(graph, [m for m in graph if m.split(".")[0] == "hub"])
    return sorted(f"{target} (imported by {via[target]})" for target in via
                  if target.split(".")[0] in HUB_NEVER)


def test_there_are_no_import_circles():
    assert circles(import_graph()) == []


def test_every_package_imports_only_what_the_house_rules_allow():
    assert broken_rules(import_graph()) == []


def test_the_hub_never_reaches_aiortc_or_the_booth():
    assert hub_reaches(import_graph()) == []


def test_the_check_sees_a_forbidden_import_and_a_circle(tmp_path):
    """The rules can fail: a scratch tree with a hub module importing the booth, and a circle."""
    for package, files in {
        "hub": {"__init__.py": "", "a.py": "from . import b\n", "b.py": "def f():\n    from .a import x\n",
                "c.py": "from appliance.session import Session\n"},
        "appliance": {"__init__.py": "", "session.py": "import aiortc\n"},
        "rtc": {"__init__.py": "", "protocol.py": ""},
    }.items():
        (tmp_path / package).mkdir()
        for name, text in files.items():
            (tmp_path / package / name).write_text(text)
    graph = import_graph(tmp_path)
    assert circles(graph) == [["hub.a", "hub.b"]]
    assert broken_rules(graph) == ["hub.c imports appliance.session"]
    assert hub_reaches(graph) == ["aiortc (imported by appliance.session)", "appliance.session (imported by hub.c)"]
