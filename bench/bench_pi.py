"""The booth side of a call on a Raspberry Pi's CPU budget: daemon and kiosk Chromium under a quota.

The booth daemon (its own process, ``videokiosk booth``, fake hardware at 640x480, 30 fps) and the
kiosk's own Chromium run in one CPU cgroup; the hub and the advisor's Chromium (a stamped canvas
camera, bench/latency.py) stay outside. During one call the cgroup's quota alternates between
none (the baseline) and ``QUOTA_CORES`` (a Pi 4's share for the booth), ``ROUNDS`` windows each, so
both see the same load on a shared machine. Per window: CPU seconds per second of each component
(from /proc, the whole process tree) and the frames the advisor's browser receives (its
``framesReceived``: what the booth sent and got through), beside those its ``<video>`` shows. The
advisor's Chromium shares this machine's cores with everything else here, and no Pi's quota
applies to it, so the frames it paints say as much about this machine as about the booth.

Then the same again with a booth that decodes and re-encodes the advisor's video for the kiosk
(``[hardware] forward_encoded_video = false``): the daemon's CPU per frame the advisor receives,
forwarded vs re-encoded (one call after the other: CPU seconds per frame, a count, depend far less on
the machine's load than frame rates do).

cgroup v1 (``/sys/fs/cgroup/cpu``) or v2 (``/sys/fs/cgroup``) must let us make a group; where it
cannot, the rows say so instead of a number.

    $ python -m bench bench_pi
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from bench.booth_process import BenchHub, BoothProcess, stop
from bench.latency import FPS, HEIGHT, WIDTH, fake_camera_script, latencies, receiving, summary, take, watch

QUOTA_CORES = 1.5
PERIOD_US = 100_000
ROUNDS = 3
WINDOW_S = 8.0
SETTLE_S = 2.0
TARGET_FPS = 25
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class CpuGroup:
    """A CPU cgroup we made: processes join it as they start; its quota can change at any time."""

    def __init__(self, name: str) -> None:
        v2 = Path("/sys/fs/cgroup/cgroup.controllers")
        self.v2 = v2.exists()
        self.path = Path("/sys/fs/cgroup" if self.v2 else "/sys/fs/cgroup/cpu") / name
        self.path.mkdir()  # PermissionError / OSError: no cgroup for us here

    def limit(self, cores: float | None) -> None:
        if self.v2:
            (self.path / "cpu.max").write_text("max" if cores is None else f"{round(cores * PERIOD_US)} {PERIOD_US}")
        else:
            (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text("-1" if cores is None else str(round(cores * PERIOD_US)))

    def join(self) -> None:
        """For ``preexec_fn``: the starting process (and all it starts) joins the group."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self) -> None:
        for _attempt in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:  # processes still leaving
                time.sleep(0.1)


def tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) of ``root`` and every live descendant, plus reaped children's."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        pid = int(entry.name)
        stats[pid] = fields
        children.setdefault(int(fields[1]), []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        fields = stats.get(pid)
        if fields is None:
            continue
        total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
        todo += children.get(pid, [])
    return total / CLOCK_TICKS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PiBooth:
    """Hub in this process; booth daemon and kiosk Chromium as their own processes in ``group``."""

    def __init__(self, lt, pw, browser, group: CpuGroup, tmp: Path, forward: bool = True) -> None:
        from tests.conftest import CHROMIUM, CHROMIUM_ARGS

        self.lt = lt
        hub = BenchHub(lt, tmp)
        # The daemon at normal priority (as root its LimitRTPRIO is 0): the quota (cgroup v2's cpu.max)
        # binds normal tasks only, and a Pi's CPU budget is what this measures. Real-time priority in
        # calls (appliance/realtime.py) moves the daemon ahead of the kiosk, not the call cheaper.
        self.daemon = BoothProcess(hub, tmp, forward=forward, preexec_fn=group.join)
        self.booth_url = self.daemon.url
        port = _free_port()
        # A session of its own, as its unit gives the kiosk (bench/booth_process.py says why).
        self.kiosk_browser = subprocess.Popen(
            [str(CHROMIUM), "--headless", f"--remote-debugging-port={port}", f"--user-data-dir={tmp / 'kiosk-profile'}",
             "--window-size=1280,800", *[a for a in CHROMIUM_ARGS if "fake-device" not in a and "fake-ui" not in a], "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, preexec_fn=group.join)
        self.kiosk_cdp = self._connect(pw, port)
        self.kiosk = self.kiosk_cdp.contexts[0].pages[0]
        self.advisor_ctx = browser.new_context(viewport={"width": 1280, "height": 800}, permissions=["camera", "microphone"])
        self.advisor_ctx.add_init_script(fake_camera_script())
        self.advisor = self.advisor_ctx.new_page()
        hub.log_in(self.advisor)

    @staticmethod
    def _connect(pw, port: int):
        deadline = time.monotonic() + 30
        while True:
            try:
                return pw.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)  # Chromium is still opening its debugging port

    def call(self) -> None:
        kiosk = self.kiosk
        kiosk.goto(self.booth_url)
        kiosk.get_by_role("button", name="Videoberatung starten").click()
        kiosk.get_by_role("button", name="Ich stimme zu").click()
        for _attempt in range(3):  # the device check again if the busy machine failed it, as a customer would
            kiosk.wait_for_function("() => !document.querySelector('#continue').disabled || !document.querySelector('#recheck').hidden",
                                    timeout=90000)
            if not kiosk.locator("#continue").is_disabled():
                break
            print("  device check failed on this busy machine; checking again", flush=True)
            kiosk.get_by_role("button", name="Erneut prüfen").click()
        kiosk.get_by_role("button", name="Weiter").click()
        self.advisor.get_by_role("button", name="Eintreten lassen").click()
        self.advisor.wait_for_function("() => { const v = document.querySelector('#remote-video'); return v && v.videoWidth > 0 && v.currentTime > 0; }",
                                       timeout=60000)
        watch(self.advisor, "#remote-video")

    def window(self) -> dict:
        take(self.advisor, "#remote-video")
        received = receiving([self.advisor])["video"]["received"]
        cpu = {"daemon": tree_cpu_s(self.daemon.pid), "kiosk": tree_cpu_s(self.kiosk_browser.pid)}
        started = time.monotonic()
        time.sleep(WINDOW_S)  # a fixed measuring window, not a wait for an event
        elapsed = time.monotonic() - started
        taken = take(self.advisor, "#remote-video")
        received = receiving([self.advisor])["video"]["received"] - received
        size = self.advisor.evaluate("() => { const v = document.querySelector('#remote-video'); return [v.videoWidth, v.videoHeight]; }")
        out = {name: (tree_cpu_s(pid) - cpu[name]) / elapsed
               for name, pid in (("daemon", self.daemon.pid), ("kiosk", self.kiosk_browser.pid))}
        return out | {"fps": received / elapsed, "shown_fps": len(taken["seen"]) / elapsed, "size": size, "latency": latencies(taken)}

    def close(self) -> None:
        try:
            self.advisor.get_by_role("button", name="Beenden").click(timeout=5000)
        except Exception:  # the call may already have ended; closing is all that is left
            pass
        self.advisor_ctx.close()
        self.kiosk_cdp.close()
        stop(self.kiosk_browser)
        self.daemon.close()


def measure(rounds: int = ROUNDS) -> dict:
    from playwright.sync_api import expect, sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.support import LoopThread

    group = CpuGroup(f"videokiosk-bench-{os.getpid()}")
    out: dict = {"free": [], "quota": [], "reencoding": []}
    expect.set_options(timeout=30_000)  # the console's log-in and the kiosk's screens on a busy machine
    try:
        with tempfile.TemporaryDirectory() as tmp, LoopThread() as lt, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            try:
                for forward in (True, False):
                    where = Path(tmp) / ("forwarding" if forward else "reencoding")
                    where.mkdir()
                    booth = PiBooth(lt, pw, browser, group, where, forward)
                    try:
                        booth.call()
                        time.sleep(SETTLE_S)
                        for _ in range(rounds):
                            for name, cores in (("free", None), ("quota", QUOTA_CORES)):
                                group.limit(cores)
                                out[name if forward else "reencoding"].append(booth.window())
                    finally:
                        group.limit(None)
                        booth.close()
            finally:
                browser.close()
    finally:
        group.remove()
    return out


def _mean(windows: list[dict], key: str) -> float:
    return sum(w[key] for w in windows) / len(windows)


def run() -> list[dict]:
    load_before = os.getloadavg()[0]
    failed = {"name": f"booth under {QUOTA_CORES} cores: frames the advisor receives", "value": None, "unit": "fps", "baseline": None,
              "ratio": None, "target": f">= {TARGET_FPS} at {WIDTH}x{HEIGHT}"}
    try:
        m = measure()
    except OSError as exc:
        return [failed | {"ok": None, "skipped": f"no CPU cgroup we may make here: {exc}"}]
    except Exception as exc:  # a call the busy machine broke: say so in the table, let the other benches run
        return [failed | {"ok": False, "error": str(exc).splitlines()[0], "load_avg": round(os.getloadavg()[0], 1)}]
    load = round(max(load_before, os.getloadavg()[0]), 1)
    quota, free = m["quota"], m["free"]
    sizes = sorted({tuple(w["size"]) for w in quota})
    rows = [{"name": f"booth under {QUOTA_CORES} cores: frames the advisor receives", "value": round(_mean(quota, "fps"), 1), "unit": "fps",
             "baseline": round(_mean(free, "fps"), 1), "ratio": round(_mean(quota, "fps") / _mean(free, "fps"), 2),
             "target": f">= {TARGET_FPS} at {WIDTH}x{HEIGHT}", "ok": _mean(quota, "fps") >= TARGET_FPS and sizes == [(WIDTH, HEIGHT)],
             "sizes": sizes, "shown_fps": round(_mean(quota, "shown_fps"), 1), "baseline_shown_fps": round(_mean(free, "shown_fps"), 1),
             "latency_median_ms": round(summary([x for w in quota for x in w["latency"]])["median"], 1),
             "baseline_latency_median_ms": round(summary([x for w in free for x in w["latency"]])["median"], 1), "load_avg": load}]
    for name, label in (("daemon", "booth daemon"), ("kiosk", "kiosk Chromium")):
        # Per frame the advisor receives as well: on a machine others keep busy a starved booth
        # spends fewer CPU seconds per second, not fewer per frame.
        rows.append({"name": f"booth under {QUOTA_CORES} cores: CPU of the {label}", "value": round(_mean(quota, name), 2),
                     "unit": "cpu s/s", "baseline": round(_mean(free, name), 2), "ratio": round(_mean(quota, name) / _mean(free, name), 2),
                     "target": None, "ok": None, "cpu_ms_per_frame": round(1000 * _mean(quota, name) / _mean(quota, "fps"), 1),
                     "baseline_cpu_ms_per_frame": round(1000 * _mean(free, name) / _mean(free, "fps"), 1), "load_avg": load})
    # What forwarding the advisor's video (rtc/forward.py) saves the booth, with and without the quota.
    for name, label in (("daemon", "booth daemon"), ("kiosk", "kiosk Chromium")):
        ours, before = _per_frame(quota + free, name), _per_frame(m["reencoding"], name)
        rows.append({"name": f"CPU ms per frame the advisor receives, of the {label}, advisor's video forwarded vs re-encoded", "value": round(ours, 1),
                     "unit": "cpu ms", "baseline": round(before, 1), "ratio": round(ours / before, 2), "target": "< 1",
                     "ok": ours < before if name == "daemon" else None, "cpu_s_per_s": round(_mean(quota + free, name), 2),
                     "baseline_cpu_s_per_s": round(_mean(m["reencoding"], name), 2), "load_avg": load})
    return rows


def _per_frame(windows: list[dict], name: str) -> float:
    return 1000 * _mean(windows, name) / _mean(windows, "fps")
