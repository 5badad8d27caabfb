"""Call set-up speed on loopback: admit -> first frames both ways, and waiting -> console shows it.

Our pattern (a real hub, a real booth daemon with fake hardware, the advisor console in the real
Chromium): at the admit the booth (aiortc) offers at once with its host candidates in the SDP,
the browser answers and trickles. Measured from the advisor's click on "Eintreten lassen" to the
first decoded frame on the booth and the first frame rendered in the console's <video>. The booth
runs in a process of its own, as on a booth (bench/booth_process.py), with its 640x480 camera.

Baseline, in the same run, alternating run by run with ours, on the same machine: aiortc's stock
pattern (its ``server`` example, bench/stock_answerer.py, also in a process of its own, with the
same camera): the browser gets the camera, offers, waits for ICE gathering to complete, posts the
full SDP; aiortc answers with a full SDP; no trickle. Both sides use host candidates only, like
ours (no STUN/TURN configured), so the comparison is about the signalling pattern alone.

Until 2026-12 both aiortc ends ran in the bench's own process (beside the hub and the browsers'
driver) with a 320x240 camera, and the browser's times were on ``performance.timeOrigin + now()``,
which parts from the wall clock the booth's times are on (hub/console/timings.js): 0.54 / 0.57 of
stock then, 0.48 / 0.43 in the first run as it is now.

Medians over ``RUNS`` runs each. Targets: first frames both ways at most ``TARGET_RATIO`` of the
stock flow's time in the same run (issue 20; the absolute 150 ms stays beside it), notification
under 50 ms.

Why 0.35 is out of reach while the advisor's camera opens at the click (2026-12-04, quiet machine,
the advisor's RTP timed as it reached the booth): after the booth's end of the connection is up,
Chromium sent its first video packet 47-101 ms later (median 74) and the booth decoded it 2-7 ms
after the frame's last packet: the camera and its encoder start at the click. That is 0.31 of the
stock flow's 245 ms before any signalling; 0.35 leaves 8 ms for two relayed hops, the console's
answer and ICE with DTLS (today 68 ms). With the camera opened before the click (the bench calling
the console's ``prepareMedia`` first) the first packet came 23-78 ms after (median 40) and the
call started at 0.47 / 0.49 of stock; an offer made while the customer waits and held by the hub
would save about 20 ms more (the hop to the booth and the offer's making), which gives about 0.38.
Both are decisions beyond a bench: an advisor's camera on while customers wait (a camera at a
workplace, a staff council's matter), a booth's SDP at the hub before anyone admitted it.

    $ python -m bench bench_call
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from bench.booth_process import BenchHub, BoothProcess, stop
from bench.latency import summary

RUNS = 12
PHASES = ("booth_admitted", "offer_sent", "offer_in_browser", "remote_set", "answer_made", "answer_sent", "answer_received",
          "booth_connected", "advisor_connected", "advisor_media")
TARGET_FIRST_FRAME_MS = 150.0
TARGET_RATIO = 0.35
TARGET_NOTIFY_MS = 50.0


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _p95(values: list[float]) -> float:
    return summary(values)["p95"]


class OursRun:
    """The hub in the bench's loop, the booth daemon in a process of its own (bench/booth_process.py),
    the console in Chromium: one admitted call per :meth:`once`."""

    def __init__(self, lt, browser, data_dir: Path) -> None:
        data_dir.mkdir()
        self.hub = BenchHub(lt, data_dir)
        self.booth = BoothProcess(self.hub, data_dir, command=BoothProcess.BENCH_BOOTH)
        self.ctx = browser.new_context(permissions=["camera", "microphone"])
        self.page = self.ctx.new_page()
        self.hub.log_in(self.page)

    def once(self) -> dict[str, float]:
        page = self.page
        waiting = self.booth.ask("waiting")
        session_id, entered = waiting["session_id"], waiting["entered"]
        page.wait_for_function("(sid) => window.vkConsole.timings.shown[sid]", arg=session_id)
        shown = page.evaluate("(sid) => window.vkConsole.timings.shown[sid]", session_id)
        page.evaluate("() => { window.vkConsole.timings.firstFrame = null; window.vkConsole.timings.mediaAt = null; }")
        page.get_by_role("button", name="Eintreten lassen").click()
        page.wait_for_function("() => window.vkConsole.timings.firstFrame", timeout=20000)
        booth_s = self.booth.ask("started")
        timings = page.evaluate("() => window.vkConsole.timings")
        admit = timings["admitClicked"]
        out = {"notify": shown - entered * 1000, "browser": timings["firstFrame"] - admit,
               "booth": booth_s["first_remote_frame_at"] * 1000 - admit}
        # The booth's clock is time.time() in seconds, the console's Date.now() in ms: the same wall clock.
        at_ms = {key: booth_s[stat] * 1000 for key, stat in (
            ("booth_admitted", "started_at"), ("offer_sent", "offer_sent_at"), ("answer_received", "answer_at"),
            ("booth_connected", "connected_at")) if booth_s.get(stat) is not None}
        at_ms |= {key: timings[js] for key, js in (("offer_in_browser", "offerAt"), ("remote_set", "remoteSetAt"),
                                                    ("answer_made", "answerMadeAt"), ("answer_sent", "answerAt"),
                                                    ("advisor_connected", "connectedAt"), ("advisor_media", "mediaAt")) if timings.get(js)}
        out |= {key: at - admit for key, at in at_ms.items()}
        page.get_by_role("button", name="Beenden").click()
        self.booth.ask("leave")
        return out

    def close(self) -> None:
        self.ctx.close()
        self.booth.close()


class BaselineRun:
    """aiortc's stock pattern (bench/stock_answerer.py, its own process): one call per :meth:`once`,
    started by the browser."""

    def __init__(self, browser) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.stock_answerer"], stdout=subprocess.PIPE,
                                     text=True, start_new_session=True)
        line = self.proc.stdout.readline()
        found = re.search(r"stock answerer at (\S+)", line)
        if not found:
            stop(self.proc)
            raise RuntimeError(f"the stock answerer did not start: {line!r}")
        self.url = found.group(1)
        self.ctx = browser.new_context(permissions=["camera", "microphone"])
        self.page = self.ctx.new_page()
        self.page.goto(self.url)

    def _ask(self, method: str, path: str) -> dict:
        with urllib.request.urlopen(urllib.request.Request(self.url + path, method=method), timeout=30) as r:
            answer = json.load(r)
        if "error" in answer:
            raise RuntimeError(f"stock answerer, {path}: {answer['error']}")
        return answer

    def once(self) -> dict[str, float]:
        page = self.page
        self._ask("POST", "/reset")
        page.evaluate("() => startCall()")
        page.wait_for_function("() => window.timings.firstFrame", timeout=20000)
        first_frame_at = self._ask("GET", "/first-frame")["at"]
        t = page.evaluate("() => window.timings")
        page.evaluate("() => stopCall()")
        return {"browser": t["firstFrame"] - t["start"], "booth": first_frame_at * 1000 - t["start"]}

    def close(self) -> None:
        self.ctx.close()
        stop(self.proc)


def webcam_args(args: list[str]) -> list[str]:
    """Chromium's fake camera at a webcam's 30 fps (the console asks for 30; unasked it gives 20).

    At 20 fps the advisor's first frame waits up to 50 ms for the fake camera alone, a cost no
    advisor with a real webcam pays. Baseline and ours share this browser, so both get it.
    """
    return [a if a != "--use-fake-device-for-media-stream" else a + "=fps=30" for a in args]


def measure(runs: int = RUNS) -> dict[str, dict[str, list[float]]]:
    """Baseline and ours alternate run by run, so both see the same load on a shared machine."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.support import LoopThread

    results: dict[str, dict[str, list[float]]] = {"ours": {}, "baseline": {}}
    with tempfile.TemporaryDirectory() as tmp, LoopThread() as lt, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=webcam_args(CHROMIUM_ARGS), headless=True)
        setups = {"baseline": BaselineRun(browser), "ours": OursRun(lt, browser, Path(tmp) / "ours")}
        try:
            for n in range(runs + 1):
                for name, setup in setups.items():
                    sample = setup.once()
                    if n == 0:
                        continue  # the first run warms codecs and caches up; it is not counted
                    for key, value in sample.items():
                        results[name].setdefault(key, []).append(value)
        finally:
            for setup in setups.values():
                setup.close()
            browser.close()
    return results


def run() -> list[dict]:
    load_before = os.getloadavg()[0]
    m = measure()
    # Absolute times on a shared 2-core machine mean little without the load: it goes in the row.
    load = round(max(load_before, os.getloadavg()[0]), 1)
    rows = []
    for key, label in (("booth", "admit -> first decoded frame on the booth (aiortc)"),
                       ("browser", "admit -> first rendered frame in the advisor's browser")):
        value, base = _median(m["ours"][key]), _median(m["baseline"][key])
        ratio = value / base
        rows.append({"name": label, "value": round(value, 1), "unit": "ms", "baseline": round(base, 1),
                     "ratio": round(ratio, 2), "target": f"<= {TARGET_RATIO}x, < {TARGET_FIRST_FRAME_MS:.0f}",
                     "ok": ratio <= TARGET_RATIO and value < TARGET_FIRST_FRAME_MS, "runs": len(m["ours"][key]), "load_avg": load,
                     "p95": round(_p95(m["ours"][key]), 1), "baseline_p95": round(_p95(m["baseline"][key]), 1),
                     "samples": [round(v, 1) for v in m["ours"][key]],
                     "baseline_samples": [round(v, 1) for v in m["baseline"][key]]})
    # Where the time goes (medians, ms after the click), so the next person knows what to attack.
    rows[0]["phases_ms"] = {k: round(_median(m["ours"].get(k, [])), 1) for k in PHASES}
    notify = _median(m["ours"]["notify"])
    rows.append({"name": "customer enters waiting room -> console shows it", "value": round(notify, 1), "unit": "ms",
                 "baseline": None, "ratio": None, "target": f"< {TARGET_NOTIFY_MS:.0f}", "ok": notify < TARGET_NOTIFY_MS,
                 "runs": len(m["ours"]["notify"]), "samples": [round(v, 1) for v in m["ours"]["notify"]]})
    return rows


if __name__ == "__main__":
    import json

    print(json.dumps(measure(runs=3), indent=1))
