// Live transmission quality of the current call, as the booth measures it (rtc/quality.py):
// the hub relays the booth's "quality" messages to this console every few seconds.
import { t } from "./i18n.js";

const GRADES = ["good", "fair", "poor"];

function box() {
  return document.getElementById("call-quality");
}

export function showQuality(msg) {
  const el = box();
  if (!el) return;
  const grade = GRADES.includes(msg.grade) ? msg.grade : "unknown";
  el.dataset.grade = grade;
  el.dataset.callId = msg.call_id;
  el.querySelector(".quality-grade").textContent = `${t("quality_heading")}: ${t(`quality_${grade}`)}`;
  el.querySelector(".quality-detail").textContent = t("quality_detail", {
    up: Math.round(msg.send_kbps ?? 0),
    down: Math.round(msg.recv_kbps ?? 0),
    loss: (msg.send_loss_pct ?? 0).toFixed(1),
    rtt: msg.rtt_ms == null ? "–" : Math.round(msg.rtt_ms),
  });
  el.querySelector(".quality-adapted").hidden = !(msg.level > 0);
  el.querySelector(".quality-adapted").textContent = t("quality_adapted");
  el.hidden = false;
}

// A finished call's numbers must not greet the next call.
export function hideQuality() {
  const el = box();
  if (el) el.hidden = true;
}
