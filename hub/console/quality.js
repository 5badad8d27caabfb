// Live transmission quality of the current call, from both ends:
// - the booth's measurement (rtc/quality.py), relayed by the hub as "quality" every few seconds;
// - this browser's own getStats() of the call, sampled whenever the booth's report arrives.
import { t } from "./i18n.js";
import { GOOD_KBPS, GOOD_LOSS_PCT as GOOD_LOSS, POOR_KBPS, POOR_LOSS_PCT as POOR_LOSS } from "./thresholds.js";

const GRADES = ["good", "fair", "poor"];
// The thresholds of rtc/quality.py's grades, generated from rtc/thresholds.py.
let previous = null;

function box() {
  return document.getElementById("call-quality");
}

export function grade(kbps, lossPct) {
  if (kbps < POOR_KBPS || lossPct > POOR_LOSS) return "poor";
  if (kbps >= GOOD_KBPS && lossPct < GOOD_LOSS) return "good";
  return "fair";
}

// Rates over the time since the last call of this function (null on the first).
async function ownSample(pc) {
  if (!pc || pc.connectionState !== "connected") return null;
  const totals = { sent: 0, recv: 0, got: 0, lost: 0, rtt: null, fps: null, width: null, height: null };
  (await pc.getStats()).forEach((s) => {
    if (s.type === "outbound-rtp" && s.kind === "video") totals.sent += s.bytesSent || 0;
    if (s.type === "inbound-rtp" && s.kind === "video") {
      totals.recv += s.bytesReceived || 0;
      totals.got += s.packetsReceived || 0;
      totals.lost += s.packetsLost || 0;
      totals.fps = s.framesPerSecond ?? totals.fps;
      totals.width = s.frameWidth ?? totals.width;
      totals.height = s.frameHeight ?? totals.height;
    }
    if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime != null) totals.rtt = s.currentRoundTripTime * 1000;
  });
  totals.at = performance.now();
  const last = previous;
  previous = totals;
  if (!last || totals.at <= last.at) return null;
  const seconds = (totals.at - last.at) / 1000;
  const got = totals.got - last.got, lost = Math.max(0, totals.lost - last.lost);
  const sample = {
    up: Math.max(0, totals.sent - last.sent) * 8 / seconds / 1000,
    down: Math.max(0, totals.recv - last.recv) * 8 / seconds / 1000,
    loss: got + lost > 0 ? (100 * lost) / (got + lost) : 0,
    rtt: totals.rtt,
    fps: totals.fps,
    size: size(totals.width, totals.height),
  };
  sample.grade = grade(sample.down, sample.loss); // what this advisor receives from the booth
  return sample;
}

function size(width, height) {
  return width && height ? `${width}×${height}` : "–";
}

export async function showQuality(msg, pc) {
  const el = box();
  if (!el) return;
  const booth = GRADES.includes(msg.grade) ? msg.grade : "unknown";
  el.dataset.grade = booth;
  el.dataset.callId = msg.call_id;
  el.querySelector(".quality-grade").textContent = `${t("quality_heading")}: ${t(`quality_${booth}`)}`;
  el.querySelector(".quality-detail").textContent = t("quality_detail", {
    up: Math.round(msg.send_kbps ?? 0),
    down: Math.round(msg.recv_kbps ?? 0),
    loss: (msg.send_loss_pct ?? 0).toFixed(1),
    rtt: msg.rtt_ms == null ? "–" : Math.round(msg.rtt_ms),
    size: size(msg.width, msg.height),
    fps: msg.fps == null ? "–" : Math.round(msg.fps),
  });
  el.querySelector(".quality-adapted").hidden = !(msg.level > 0);
  el.querySelector(".quality-adapted").textContent = t("quality_adapted");
  el.hidden = false;
  const own = el.querySelector(".quality-own");
  const sample = own ? await ownSample(pc).catch(() => null) : null;
  if (!sample) return;
  own.dataset.grade = sample.grade;
  own.textContent = t("quality_own", {
    grade: t(`quality_${sample.grade}`),
    up: Math.round(sample.up),
    down: Math.round(sample.down),
    loss: sample.loss.toFixed(1),
    rtt: sample.rtt == null ? "–" : Math.round(sample.rtt),
    size: sample.size,
    fps: sample.fps == null ? "–" : Math.round(sample.fps),
  });
}

// A finished call's numbers must not greet the next call.
export function hideQuality() {
  const el = box();
  if (el) el.hidden = true;
  previous = null;
}
