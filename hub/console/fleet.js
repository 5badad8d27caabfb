// The technicians' fleet page: every booth's latest health from /api/fleet, problems first, and
// the remote actions. Every action is confirmed; on a booth with a customer the hub answers
// "busy" and the page asks again with a warning before it sends "force".
const $ = (id) => document.getElementById(id);
const REFRESH_MS = 5000;
const DEVICES = ["camera", "microphone", "speaker", "button", "led"];
const ACTIONS = ["selftest", "fetch_logs", "out_of_service", "back_in_service", "restart", "reboot"];
let dict = {};
let csrf = "";
let timer = null;
const t = (key) => dict[key] ?? key;

async function loadLanguage() {
  const lang = localStorage.getItem("vk-console-lang") === "en" ? "en" : "de";
  const response = await fetch(`/console/fleet_i18n/${lang}.json`);
  if (response.ok) dict = await response.json();
  document.documentElement.lang = lang;
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

function showError(key) {
  $("fleet-error").textContent = t(key);
  $("fleet-error").hidden = false;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text ?? "–";
  if (className) td.className = className;
  return td;
}

function duration(seconds) {
  if (seconds == null) return "–";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h ${minutes % 60} min` : `${Math.floor(hours / 24)} d`;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString(document.documentElement.lang) : "–";
}

// Which of the A/B root slots the booth runs from (RAUC), when it has slots: "1.4.0 (Slot B)".
function slotText(h) {
  return h.update && h.update.booted_slot ? ` (${t("booted_slot")} ${h.update.booted_slot})` : "";
}

function stateText(row) {
  if (!row.problems.length) return t(`activity_${row.health.activity}`);
  return row.problems.map((p) => t(`problem_${p}`)).join(", ");
}

function deviceCell(health) {
  const td = document.createElement("td");
  for (const name of DEVICES) {
    const state = health ? health.devices[name] : null;
    if (!state) continue;
    const span = document.createElement("span");
    span.className = `device ${state}`;
    span.dataset.device = name;
    span.textContent = `${t(`device_${name}`)}: ${t(`device_state_${state}`)}`;
    td.append(span, document.createElement("br"));
  }
  return td;
}

function actionCell(row) {
  const td = document.createElement("td");
  td.className = "actions";
  for (const action of ACTIONS) {
    if (action === "out_of_service" && row.health && row.health.activity === "out_of_service") continue;
    if (action === "back_in_service" && !(row.health && row.health.out_of_service_reason === "technician")) continue;
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = t(`action_${action}`);
    button.disabled = !row.online;
    button.addEventListener("click", () => confirmAction(row, action, false));
    td.append(button);
  }
  return td;
}

function render(data) {
  const select = $("office");
  const chosen = select.value;
  select.replaceChildren(select.options[0]);
  for (const office of data.offices) select.append(new Option(office, office, false, office === chosen));
  $("fleet-filter").hidden = false;
  const bad = data.booths.filter((r) => r.problems.length).length;
  $("summary").textContent = `${data.booths.length} ${t("booths")}, ${bad} ${t("with_problems")}`;
  const rows = data.booths.map((row) => {
    const tr = document.createElement("tr");
    const h = row.health;
    tr.className = row.problems.length ? "problem" : "ok";
    tr.dataset.booth = row.booth_id;
    const selftest = h && h.selftest ? `${t(h.selftest.ok ? "selftest_ok" : "selftest_failed")} (${when(h.selftest.at)})` : "–";
    tr.append(
      cell(`${row.name} (${row.booth_id})`), cell(row.location), cell(stateText(row), "state"),
      cell(h ? `${h.version}${slotText(h)} · ${h.os}` : null), cell(h ? duration(h.uptime_s) : null), cell(when(row.last_seen)),
      cell(h && h.link_rtt_ms != null ? `${Math.round(h.link_rtt_ms)} ms` : null), cell(h ? String(h.watchdog_restarts) : null),
      deviceCell(h), cell(selftest, "selftest"),
      cell(h && h.disk_free_bytes != null ? `${(h.disk_free_bytes / 1e9).toFixed(1)} GB` : null),
      cell(h && h.cpu_temp_c != null ? `${h.cpu_temp_c.toFixed(1)} °C` : null),
      actionCell(row),
    );
    return tr;
  });
  $("fleet-rows").replaceChildren(...rows);
  $("fleet-table").hidden = false;
  renderRollout(data.rollout);
}

// One rollout at a time: the form while none is under way, its state and controls while one is.
function renderRollout(rollout) {
  const underWay = Boolean(rollout) && ["first_wave", "all", "paused"].includes(rollout.phase);
  $("rollout-panel").hidden = false;
  $("rollout-status").textContent = rollout
    ? `${rollout.version}: ${t(`rollout_${rollout.phase}`)} ${rollout.reason} (${t("rollout_by")} ${rollout.by})`
    : t("rollout_none");
  const items = Object.entries(rollout ? rollout.booths : {}).map(([id, state]) => {
    const li = document.createElement("li");
    li.dataset.booth = id;
    li.className = `rollout-booth ${state}`;
    li.textContent = `${id}: ${state}`;
    return li;
  });
  $("rollout-booths").replaceChildren(...items);
  $("rollout-resume").hidden = !(rollout && rollout.phase === "paused");
  $("rollout-cancel").hidden = !underWay;
  $("rollout-form").hidden = underWay;
}

async function rolloutCall(path, body) {
  const response = await fetch(`/api/fleet/rollout${path}`, {
    method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(body ?? {}),
  });
  const answer = await response.json().catch(() => ({}));
  $("rollout-error").hidden = response.ok;
  if (!response.ok) $("rollout-error").textContent = `${t("rollout_refused")} ${answer.message || t("result_failed")}`;
  refresh();
}

function confirmRollout(event) {
  event.preventDefault();
  const form = $("rollout-form");
  if (!form.reportValidity()) return;
  const office = $("office").value;
  const body = { bundle_url: $("bundle-url").value.trim(), version: $("bundle-version").value.trim(),
    first: Number($("first-wave").value) || 2, office: office || null };
  $("confirm-text").textContent = `${t("rollout_confirm")}: ${body.version} (${office || t("all_offices")}). ${t("confirm_question")}`;
  $("confirm-warning").hidden = true;
  $("hours-field").hidden = true;
  $("confirm-ok").textContent = t("confirm_ok");
  $("confirm-ok").onclick = () => { $("confirm").close(); rolloutCall("", body); };
  $("confirm").showModal();
}

async function refresh() {
  clearTimeout(timer);
  const office = $("office").value;
  const response = await fetch(`/api/fleet${office ? `?office=${encodeURIComponent(office)}` : ""}`);
  if (response.status === 401) return showError("not_logged_in");
  if (response.status === 403) return showError("not_technician");
  if (!response.ok) return showError("load_failed");
  $("fleet-error").hidden = true;
  render(await response.json());
  await refreshAudit();
  timer = setTimeout(refresh, REFRESH_MS);
}

async function refreshAudit() {
  const response = await fetch("/api/fleet/audit");
  if (!response.ok) return;
  const rows = (await response.json()).audit.map((a) => {
    const tr = document.createElement("tr");
    tr.append(cell(when(a.at)), cell(a.username), cell(a.booth_id),
      cell(t(`action_${a.action}`) + (a.forced ? ` (${t("forced")})` : "")), cell(a.outcome));
    return tr;
  });
  $("audit-rows").replaceChildren(...rows);
  $("audit-panel").hidden = false;
}

function confirmAction(row, action, busyWarning) {
  const dialog = $("confirm");
  $("confirm-text").textContent = `${t(`action_${action}`)}: ${row.name} (${row.location}). ${t("confirm_question")}`;
  $("confirm-warning").textContent = busyWarning ? t("busy_warning") : "";
  $("confirm-warning").hidden = !busyWarning;
  $("hours-field").hidden = action !== "fetch_logs";
  $("confirm-ok").textContent = t(busyWarning ? "confirm_force" : "confirm_ok");
  $("confirm-ok").onclick = () => { dialog.close(); run(row, action, busyWarning); };
  dialog.showModal();
}

async function run(row, action, force) {
  const body = { action, force };
  if (action === "fetch_logs") body.hours = Math.min(168, Math.max(1, Number($("hours").value) || 2));
  const response = await fetch(`/api/fleet/${encodeURIComponent(row.booth_id)}/actions`, {
    method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (response.status === 409 && answer.error === "busy" && !force) return confirmAction(row, action, true);
  const title = `${t(`action_${action}`)} – ${row.name}: ` +
    (response.ok && answer.ok ? t("result_ok") : t(`result_${answer.error || "failed"}`));
  $("result-title").textContent = title;
  $("result-text").textContent = answer.detail || "";
  $("result").showModal();
  refresh();
}

$("confirm-cancel").addEventListener("click", () => $("confirm").close());
$("result-close").addEventListener("click", () => $("result").close());
$("office").addEventListener("change", refresh);
$("rollout-form").addEventListener("submit", confirmRollout);
$("rollout-resume").addEventListener("click", () => rolloutCall("/resume"));
$("rollout-cancel").addEventListener("click", () => rolloutCall("/cancel"));

(async () => {
  await loadLanguage();
  const me = await fetch("/api/me");
  if (me.ok) csrf = (await me.json()).csrf;
  await refresh();
})();
