"""Nothing is patched onto an object after it is built (house rule; issue 13), read from the source.

An object's collaborators come in through its constructor; afterwards nobody reaches into it. Two
things this check finds in every module of ours:

- a private attribute of another object written (``link._faults = ...``): the object's own
  methods, or its constructor, are the only ones that may; ``setattr`` on another object counts
  as such a write (its name is not read);
- behaviour installed on another object: a lambda, ``functools.partial``, ``types.MethodType`` or
  one of the writing class's own methods assigned to another object's attribute
  (``hub.booth_message = self._route``: a method replaced at run time).

The one exception by design: gpiozero's ``when_*`` callbacks (``button.when_pressed = ...``), the
event interface the house's hardware follows. Third-party internals we must adjust are listed in
``PATCHES_OF_THIRD_PARTY`` with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("appliance", "hub", "rtc", "hw", "provisioning", "videokiosk", "kiosk_ui")
OWN = ("self", "cls")
BEHAVIOUR_CALLS = ("partial", "MethodType")
PATCHES_OF_THIRD_PARTY = {
    # aioice paces its connectivity checks at 20 ms each and has no hook for another pace; aiortc
    # builds the aioice Connection itself, so no constructor of ours can pass one in (rtc/icepace.py
    # checks aioice's shape first and keeps its own pacing when it has changed).
    "rtc/icepace.py: connection._check_list_state",
    "rtc/icepace.py: connection.connect",
    # aiortc's RTCRtpReceiver builds its jitter buffer itself, which waits a frame interval longer
    # than it must (rtc/jitter.py checks the attribute is still there before swapping it).
    "rtc/jitter.py: setattr(transceiver.receiver, _ATTRIBUTE, MarkerJitterBuffer(tap=tap_for(transceiver) if tap_for else None))",
    "rtc/jitter.py: setattr(transceiver.receiver, _ATTRIBUTE, PromptAudioJitterBuffer())",
    # aiortc's RTCRtpSender answers a keyframe request by encoding one, and has no event for it; a
    # forwarded frame is never encoded here, so the request must reach the advisor (rtc/forward.py
    # checks the handler is there first, and forwards nothing without it).
    "rtc/forward.py: sender._send_keyframe",
}


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        found = list(node.targets)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        found = [node.target]
    else:
        return []
    flat: list[ast.expr] = []
    while found:
        target = found.pop()
        if isinstance(target, (ast.Tuple, ast.List)):
            found.extend(target.elts)
        else:
            flat.append(target)
    return flat


def _installs_behaviour(value: ast.expr | None, own_methods: set[str]) -> bool:
    if isinstance(value, ast.Lambda):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        return name in BEHAVIOUR_CALLS
    return (isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id in OWN
            and value.attr in own_methods)


def patches_in(path: Path, root: Path) -> list[str]:
    """Every write into another object's insides, or of behaviour onto it, in one module."""
    tree = ast.parse(path.read_text("utf-8"), str(path))
    methods_of = {node: {f.name for f in node.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
                  for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    found: list[str] = []

    def visit(node: ast.AST, own_methods: set[str]) -> None:
        if isinstance(node, ast.ClassDef):
            own_methods = methods_of[node]
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr"
                and node.args and not (isinstance(node.args[0], ast.Name) and node.args[0].id in OWN)):
            found.append(f"{path.relative_to(root)}: {ast.unparse(node)}")
        for target in _targets(node):
            if not isinstance(target, ast.Attribute):
                continue
            if isinstance(target.value, ast.Name) and target.value.id in OWN:
                continue
            private = target.attr.startswith("_") and not target.attr.startswith("__")
            behaviour = not target.attr.startswith("when_") and _installs_behaviour(getattr(node, "value", None), own_methods)
            if private or behaviour:
                found.append(f"{path.relative_to(root)}: {ast.unparse(target)}")
        for child in ast.iter_child_nodes(node):
            visit(child, own_methods)

    visit(tree, set())
    return found


def patches(root: Path = ROOT) -> list[str]:
    return sorted(hit for package in PACKAGES for path in sorted((root / package).rglob("*.py"))
                  for hit in patches_in(path, root))


def test_no_module_patches_an_object_it_did_not_build():
    assert [hit for hit in patches() if hit not in PATCHES_OF_THIRD_PARTY] == []


def test_the_third_party_patches_listed_are_still_there():
    """An exception that is gone leaves the list, so the list never excuses a new patch."""
    assert PATCHES_OF_THIRD_PARTY <= set(patches())


def test_the_check_sees_a_patched_method_and_a_private_write(tmp_path):
    (tmp_path / "hub").mkdir()
    (tmp_path / "hub" / "groupcall.py").write_text(
        "import types\n"
        "class GroupCalls:\n"
        "    def __init__(self, hub, link, button):\n"
        "        hub.booth_message = self._route\n"  # a method replaced at run time
        "        link._faults = []\n"  # another object's insides
        "        link.connect = types.MethodType(print, link)\n"
        "        link.on_close = lambda: None\n"
        "        button.when_pressed = lambda: None\n"  # gpiozero's event interface: allowed
        "        link.name, self.x = 'a', 1\n"  # plain data: allowed
        "        self._own = self._route\n"  # its own: allowed
        "        setattr(link, 'state', 1)\n"
        "        setattr(self, 'mine', 1)\n"  # its own: allowed
        "    def _route(self, msg):\n"
        "        pass\n")
    assert patches(tmp_path) == ["hub/groupcall.py: hub.booth_message", "hub/groupcall.py: link._faults",
                                 "hub/groupcall.py: link.connect", "hub/groupcall.py: link.on_close",
                                 "hub/groupcall.py: setattr(link, 'state', 1)"]
