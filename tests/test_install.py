"""``pip install .`` without extras is enough for ``videokiosk demo``: nothing optional is imported.

The demo is the embedded default (SQLite, in-process hub state). Redis is an extra
(``pip install '.[redis]'``) and is imported only when a hub's ``[state] backend = "redis"``;
single sign-on (``pip install '.[sso]'``) only when hub.toml has ``[sso.oidc]`` or ``[sso.ldap]``.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import tomllib
import urllib.request
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Makes `import redis` fail in the child, as in a venv without the extra.
WITHOUT_REDIS = "import sys; sys.modules['redis'] = None; from videokiosk.cli import main; sys.exit(main())"


def run_demo(command: list[str], data_dir: Path, cwd: Path, timeout: float = 200.0) -> str:
    """Start ``videokiosk demo`` on free ports, wait for its banner, fetch both pages, stop it
    with Ctrl+C. Returns everything it printed."""
    proc = subprocess.Popen([*command, "demo", "--hub-port", "0", "--booth-port", "0", "--data-dir", str(data_dir)],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    try:
        urls: dict[str, str] = {}
        while "advisor" not in urls:
            line = lines.get(timeout=timeout)
            assert line is not None, "the demo exited:\n" + "".join(seen)
            seen.append(line)
            if "kiosk page" in line:
                urls["kiosk"] = line.split()[-1]
            if "advisor console" in line:
                urls["advisor"] = line.split()[-1]
        for url in urls.values():
            with urllib.request.urlopen(url, timeout=30) as response:
                assert response.status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0, "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return "".join(seen)


@pytest.mark.slow
@pytest.mark.timeout(300)  # two processes importing aiortc, on a loaded 2-core machine
def test_demo_starts_without_redis(tmp_path):
    out = run_demo([sys.executable, "-c", WITHOUT_REDIS], tmp_path / "data", ROOT)
    assert "Traceback" not in out


@pytest.mark.timeout(300)
def test_hub_imports_no_optional_library_unless_configured():
    """redis (the ``redis`` extra) only for ``[state] backend = "redis"``; authlib and ldap3 (the
    ``sso`` extra) only for ``[sso.oidc]`` / ``[sso.ldap]``: a default hub and the demo need neither."""
    probe = ("import sys; import hub.app, hub.cli, hub.state; "
             "from hub.config import HubConfig; from hub.app import HubParts, make_app, state_for; "
             "config = HubConfig.model_validate({'store': {'path': ':memory:'}}); "
             "state_for(config); make_app(HubParts.open(config)); "
             "print(sorted(m for m in ('redis', 'authlib', 'ldap3', 'joserfc') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def link_runtime_dependencies(site_packages: Path) -> list[str]:
    """Put this checkout's installed copies of videokiosk's runtime dependencies (no extras), and
    theirs, into a fresh venv, as pip would from a warm cache: the test stays offline-fast and the
    venv holds exactly what ``pip install .`` without extras would bring (no redis)."""
    from importlib.metadata import PackageNotFoundError, distribution
    from packaging.requirements import Requirement

    wanted = [Requirement(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    done: set[str] = set()
    while wanted:
        requirement = wanted.pop()
        name = requirement.name.lower().replace("_", "-")
        if name in done or (requirement.marker is not None and not requirement.marker.evaluate({"extra": ""})):
            continue
        try:
            dist = distribution(requirement.name)
        except PackageNotFoundError:  # a marker-less optional one this machine lacks: pip would fail too
            raise AssertionError(f"{requirement.name} is not installed in this checkout's venv") from None
        done.add(name)
        wanted.extend(Requirement(r) for r in dist.requires or [])
        base = Path(dist.locate_file(""))
        for top in {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            target = site_packages / top
            if not target.exists() and top != "__pycache__":
                target.symlink_to(base / top)
    return sorted(done)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_pip_install_without_extras_then_demo(tmp_path):
    """A fresh venv, ``pip install .`` (no extras; dependencies from this checkout's venv, so no
    index is asked for them), ``pip check``, then the demo's ``--help`` and its start, run from
    outside the source tree."""
    # A copy of the source: pip's in-tree build/ must neither dirty the checkout nor serve stale files.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis",
        "node_modules", "demo-data"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    site_packages = next((env_dir / "lib").glob("python3.*/site-packages"))
    linked = link_runtime_dependencies(site_packages)
    assert "redis" not in linked and "aiortc" in linked
    pip = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--no-deps", str(source)],
                         capture_output=True, text=True, timeout=900, env={**os.environ, "PIP_NO_INPUT": "1"})
    assert pip.returncode == 0, pip.stderr[-4000:]
    check = subprocess.run([str(bin_dir / "python"), "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout  # every dependency of the no-extras install is there
    helped = subprocess.run([str(bin_dir / "videokiosk"), "demo", "--help"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "--hub-port" in helped.stdout, helped.stderr
    out = run_demo([str(bin_dir / "videokiosk")], tmp_path / "data", tmp_path)
    assert "Traceback" not in out
