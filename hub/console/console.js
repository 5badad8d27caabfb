// The advisor console: log-in, the live waiting room, booth states, notifications, the call.
import { Call } from "./call.js";
import { Group } from "./group.js";
import { Chat } from "./chat.js";
import { ScreenShare } from "./share.js";
import { hideQuality, showQuality } from "./quality.js";
import { apply, customer, language, load, t } from "./i18n.js";
import { wallNow } from "./timings.js";

const $ = (id) => document.getElementById(id);
const state = { csrf: null, ws: null, retryMs: 500, waiting: new Map(), booths: new Map(), audio: null };
// Timings for people diagnosing slow calls (and for `make bench`): wall-clock milliseconds.
const timings = { shown: {} };
window.vkConsole = { timings };

const call = new Call((msg) => send(msg), timings);
const group = new Group((msg) => send(msg), call); // further participants of an appointment
const chat = new Chat((msg) => send(msg)); // chat and screen sharing during the call (issue 9)
new ScreenShare(chat);

function send(msg) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(msg));
}

function notice(key, vars) { $("notice").textContent = key ? t(key, vars) : ""; }

// --- log-in ------------------------------------------------------------------------------------

async function start() {
  // The language buttons work from the moment they are on screen, before the page's own words
  // have arrived: a touch in that time was lost (seen in the console's accessibility test).
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", async () => { await load(button.dataset.lang); render(); renderSso(); });
  }
  await load(language);
  await offerSso();
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("notify-allow").addEventListener("click", async () => {
    await Notification.requestPermission();
    $("notify-allow").hidden = Notification.permission !== "default";
  });
  const me = await fetch("/api/me");
  if (me.ok) enter(await me.json()); else showLogin();
}

function showLogin() {
  $("desk").hidden = true;
  $("who").hidden = true;
  $("login").hidden = false;
  $("username-input").focus();
}

// Single sign-on: "Mit <Office-SSO> anmelden" when configured; a refused one comes back as ?sso_error=.
const sso = { name: null, error: new URLSearchParams(location.search).get("sso_error") };

async function offerSso() {
  const options = await fetch("/api/login/options").then((r) => r.json()).catch(() => ({}));
  sso.name = options.oidc ? options.oidc.name : null;
  if (sso.error) history.replaceState(null, "", "/"); // a reload does not repeat the message
  renderSso();
}

function renderSso() {
  $("sso").hidden = !sso.name;
  if (sso.name) $("sso-login").textContent = t("login_sso", { name: sso.name });
  if (sso.error) $("login-error").textContent = explain(`sso_error_${sso.error}`);
}

function explain(key) {
  const text = t(key);
  return text === key ? t("login_failed") : text; // a reason this page does not know: the general one
}

async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  // Created inside the click, so the browser lets it play the notification sound later.
  state.audio = state.audio || new AudioContext();
  const body = { username: $("username-input").value, password: $("password-input").value };
  const response = await fetch("/api/login", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  $("password-input").value = "";
  if (response.ok) return enter(data);
  if (data.error === "locked") {
    $("login-error").textContent = t("login_locked", { minutes: Math.max(1, Math.ceil(data.retry_after_s / 60)) });
  } else if (data.error === "busy") {
    $("login-error").textContent = t("login_busy");
  } else if (data.error === "wrong") {
    $("login-error").textContent = t("login_wrong");
  } else {
    $("login-error").textContent = explain(`sso_error_${data.error}`); // directory: no_role, unavailable...
  }
}

async function logout() {
  call.hangup(); // signing out ends the call now (a lost connection would keep it for a while)
  await fetch("/api/logout", { method: "POST", headers: { "X-CSRF-Token": state.csrf } });
  state.csrf = null;
  if (state.ws) state.ws.close();
  call.teardown("call_ended");
  showLogin();
}

function enter(me) {
  state.csrf = me.csrf;
  $("username").textContent = me.username;
  $("login").hidden = true;
  $("who").hidden = false;
  $("desk").hidden = false;
  $("notify-allow").hidden = !("Notification" in window) || Notification.permission !== "default";
  connect();
}

// --- the live socket ---------------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws/advisor?csrf=${encodeURIComponent(state.csrf)}`);
  state.ws = ws;
  ws.onopen = () => { state.retryMs = 500; notice(null); };
  ws.onmessage = (event) => handle(JSON.parse(event.data));
  ws.onclose = async () => {
    if (state.ws !== ws || !state.csrf) return;
    notice("connection_lost");
    await new Promise((resolve) => setTimeout(resolve, state.retryMs));
    state.retryMs = Math.min(state.retryMs * 2, 10000);
    const me = await fetch("/api/me").catch(() => null);
    if (me && me.status === 401) { state.csrf = null; showLogin(); return; }
    if (state.csrf) connect();
  };
}

function handle(msg) {
  switch (msg.type) {
    case "snapshot":
      state.waiting = new Map(msg.waiting.map((e) => [e.session_id, e]));
      state.booths = new Map(msg.booths.map((b) => [b.booth_id, b]));
      render();
      for (const entry of msg.waiting) announce(entry, false);
      break;
    case "waiting_added":
      state.waiting.set(msg.entry.session_id, msg.entry);
      renderEntry(msg.entry);
      announce(msg.entry, true);
      break;
    case "waiting_updated":
      state.waiting.set(msg.entry.session_id, msg.entry);
      renderEntry(msg.entry);
      break;
    case "waiting_removed":
      state.waiting.delete(msg.session_id);
      rows.get(msg.session_id)?.remove();
      rows.delete(msg.session_id);
      renderSummary();
      break;
    case "booth_status":
      state.booths.set(msg.booth.booth_id, msg.booth);
      renderBooth(msg.booth);
      break;
    case "admit_result":
      if (msg.ok && call.active && msg.call_id !== call.callId) group.accepted(msg.call_id, msg.ice_servers);
      else if (msg.ok) call.accepted(msg.call_id, msg.ice_servers);
      else { notice(msg.reason === "taken" ? "admit_taken" : "admit_gone"); if (!call.active) call.releaseMedia(); }
      break;
    case "call_customer": call.showCustomer(msg); break;
    case "offer": if (group.has(msg.call_id)) group.onOffer(msg); else call.onOffer(msg); break;
    case "candidate": if (group.has(msg.call_id)) group.onCandidate(msg); else call.onCandidate(msg); break;
    case "call_state":
      if (group.has(msg.call_id)) { group.onState(msg); break; }
      call.onState(msg); if (msg.state === "ended") hideQuality(); break;
    case "quality": showQuality(msg, call.pc); break;
    case "chat": chat.receive(msg); break; // relayed by the hub while the data channel is not open
    case "error": notice("protocol_error", { message: msg.message }); break;
  }
}

// Sound, system notification and tab title: every logged-in advisor hears of a new customer.
function announce(entry, loud) {
  timings.shown[entry.session_id] = wallNow();
  send({ type: "seen", session_id: entry.session_id });
  if (!loud) return;
  $("arrivals").textContent = `${t("notify_title")}: ${t("notify_body", { where: where(entry), language: entry.language })}`;
  beep();
  if ("Notification" in window && Notification.permission === "granted") {
    new Notification(t("notify_title"), { body: t("notify_body", { where: where(entry), language: entry.language }), tag: entry.session_id });
  }
}

function beep() {
  const ctx = state.audio;
  if (!ctx) return;
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.frequency.value = 880;
  gain.gain.setValueAtTime(0.2, ctx.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.6);
  osc.connect(gain).connect(ctx.destination);
  osc.start();
  osc.stop(ctx.currentTime + 0.6);
}

// --- rendering ---------------------------------------------------------------------------------

// A customer joining from home by personal link is a "virtual booth" named after their role (hub/guest.py).
const where = (entry) => (entry.location === "home"
  ? t("where_home", { role: t(`role_${entry.booth_name}`) })
  : `${entry.booth_name}, ${entry.location}`);
const clock = (iso) => new Date(iso).toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
// Appointments are booked in the job centre's time, whatever the advisor's computer says.
const berlin = (iso) => new Date(iso).toLocaleTimeString(document.documentElement.lang, { timeZone: "Europe/Berlin", hour: "2-digit", minute: "2-digit" });

// Rows are kept and updated in place: a new customer arriving must not wipe the decline message
// another advisor is typing, nor move their keyboard focus. A message touches only its own row
// (and booth item): with a thousand customers waiting, refilling every row and rebuilding the
// booth list on each arrival cost more than the hub's whole notice.
const rows = new Map();
const boothItems = new Map();

// Everything: after the snapshot and when the advisor switches the language.
function render() {
  for (const [sid, tr] of rows) if (!state.waiting.has(sid)) { tr.remove(); rows.delete(sid); }
  for (const entry of state.waiting.values()) renderEntry(entry, false);
  renderSummary();
  renderBooths();
}

function renderEntry(entry, summary = true) {
  let tr = rows.get(entry.session_id);
  if (!tr) { tr = row(entry); rows.set(entry.session_id, tr); $("waiting-list").append(tr); }
  fill(tr, entry);
  if (summary) renderSummary();
}

function renderSummary() {
  $("waiting-table").hidden = state.waiting.size === 0;
  $("waiting-empty").hidden = state.waiting.size > 0;
  document.title = state.waiting.size ? `${t("new_customer_title", { count: state.waiting.size })} – ${t("title")}` : t("title");
}

function row(entry) {
  const tr = $("waiting-row").content.firstElementChild.cloneNode(true);
  tr.dataset.sessionId = entry.session_id;
  tr.querySelector(".decline-text").value = t("decline_default");
  tr.querySelector(".admit").addEventListener("click", () => {
    timings.admitClicked = wallNow();
    send({ type: "admit", session_id: entry.session_id });  // first: the booth's offer is the critical path
    call.prepareMedia();
  });
  tr.querySelector(".decline-send").addEventListener("click", () => {
    send({ type: "decline", session_id: entry.session_id, message: tr.querySelector(".decline-text").value.slice(0, 280) });
  });
  return tr;
}

function fill(tr, entry) {
  tr.querySelector(".where").textContent = where(entry);
  tr.querySelector(".since").textContent = clock(entry.since);
  tr.querySelector(".language").textContent = entry.language.toUpperCase();
  const kind = t(`kind_${entry.kind}`);
  tr.querySelector(".kind").textContent = entry.appointment_at ? `${kind} (${t("appointment_at", { time: berlin(entry.appointment_at) })})` : kind;
  tr.querySelector(".customer").textContent = customer(entry) || "–";
  apply(tr);
}

function renderBooths() {
  boothItems.clear();
  $("booth-list").replaceChildren();
  for (const booth of state.booths.values()) renderBooth(booth);
}

function renderBooth(booth) {
  if (booth.location === "home") return; // browsers joining from home show in the waiting room only
  let li = boothItems.get(booth.booth_id);
  if (!li) { li = document.createElement("li"); boothItems.set(booth.booth_id, li); $("booth-list").append(li); }
  li.dataset.state = booth.state;
  li.textContent = `${booth.name} (${booth.location}): ${t(`booth_${booth.state}`)}`;
}

start();
