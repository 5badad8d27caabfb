// The kiosk page: renders the state the daemon sends over /ws and sends intents back. It never
// decides anything itself. A reset reloads the page, so nothing of a customer stays in memory.
import { EASY, applyCatalog, format, loadCatalog, lookup, textLanguage } from "./i18n.js";
import { accessIntent, renderAccess } from "./access.js";
import { buildKeyboard } from "./keyboard.js";
import { buildCodePad } from "./codepad.js";
import { lockKiosk } from "./lockdown.js";
import { closeModal, closeOnEscape, openModal } from "./modal.js";
import { SelfView } from "./selfview.js";
import { ChatPanel } from "./chat.js";
import { renderAppointment, renderConsent, renderChecks, renderWaiting, renderGoodbye, renderStillThere, renderLanguages, renderMute, renderPeers, renderOutOfService } from "./screens.js";

const $ = (selector) => document.querySelector(selector);
const ACTIVITY_EVERY_MS = 5000;

let socket = null;
let state = null;
let catalog = null;
let language = null;
let lastActivity = 0;
let inbox = Promise.resolve();
let peers = []; // a group call's further participants: [{slot, role}] (the daemon's "peers")

const selfView = new SelfView(send, [$("#self-view-check"), $("#self-view-call")], $("#remote-view"), $("#screen-view"),
  [$("#peer-view-0"), $("#peer-view-1")]);
const chat = new ChatPanel(send); // chat, waiting-room note and the advisor's shared screen

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function intent(event, data = {}) {
  send({ type: "intent", event, data });
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  // In a customer's own browser (kiosk_ui/browser.js, opened by the personal link) there is no
  // daemon: browser.js plays its part behind the same socket interface.
  socket = window.vkTransport ? window.vkTransport() : new WebSocket(`${scheme}://${location.host}/ws`);
  socket.addEventListener("message", (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    // One message at a time, in order: a render that waits for a translation file must not be
    // overtaken by a later state.
    inbox = inbox.then(() => onMessage(message)).catch(() => showError("common.error"));
  });
  socket.addEventListener("close", () => {
    $("#connecting").hidden = false;
    selfView.stop();
    setTimeout(connect, 1000);
  });
}

async function onMessage(message) {
  if (message.type === "state") await render(message.state);
  else if (message.type === "mic_level") $("#mic-meter").value = Number(message.level) || 0;
  else if (message.type === "quality") showSignal(message.grade);
  else if (message.type === "peers") { peers = Array.isArray(message.peers) ? message.peers : []; if (catalog) renderPeers(peers, catalog); }
  else if (message.type === "answer") await selfView.answer(message.sdp);
  else if (message.type === "error") onError(message);
  else chat.onMessage(message);
}

// "no_video": the page's video offer crossed a change of screen (the call ended while it
// travelled). Nothing the customer did went wrong, so nothing is said: the link closes, and the
// next screen that shows video starts a new one. A box saying "that did not work" on the survey
// would only puzzle them.
function onError(message) {
  if (message.code === "no_video") selfView.stop();
  else showError("common.error");
}

// Signal bars during the call: the daemon's transmission-quality grade (rtc/quality.py).
function showSignal(grade) {
  const signal = $("#signal");
  signal.dataset.grade = ["good", "fair", "poor"].includes(grade) ? grade : "unknown";
  signal.dataset.tLabel = `call.signal.${signal.dataset.grade}`;
  if (catalog) applyCatalog(signal.parentElement, catalog);
}

async function render(next) {
  const previous = state;
  if (previous && previous.state !== "idle" && next.state === "idle") {
    // The customer is gone: start from a fresh page, no history entry, nothing kept.
    location.replace("/");
    return;
  }
  state = next;
  $("#connecting").hidden = true;
  if (textLanguage(next) !== language) await switchLanguage(textLanguage(next), next.languages);
  renderAccess(next.access);
  document.body.dataset.state = next.state;
  for (const section of document.querySelectorAll("[data-screen]")) {
    section.hidden = section.dataset.screen !== next.state;
  }
  if (!previous || previous.state !== next.state) enterScreen(next.state);
  renderLanguages($("#language-list"), next, catalogsNames, chooseLanguage);
  if (next.state === "appointment") renderAppointment(next.appointment, catalog);
  if (next.state === "consent") renderConsent(next.consent);
  if (next.state === "device_check") renderChecks(next.checks, catalog);
  if (next.state === "waiting") renderWaiting(next.waiting, catalog);
  if (next.state === "goodbye") renderGoodbye(next.goodbye, catalog);
  if (next.state === "out_of_service") {
    renderOutOfService(next.out_of_service || {}, await Promise.all(next.languages.map(async (l) => [l, await loadCatalog(l)])));
  }
  if (next.state === "call") renderMute(next.call, catalog);
  if (next.state === "call") renderPeers(peers, catalog); else peers = [];
  // The hub link is down: say so on every screen until it is back (null: no hub, nothing to say).
  $("#hub-down").hidden = next.hub_connected !== false;
  renderStillThere(next.still_there, catalog);
  chat.render(next, catalog);
  if (next.error) showError(`common.${next.error}`); else $("#error").hidden = true;
  if (next.self_view && !selfView.active) selfView.start().catch(() => selfView.stop());
  if (!next.self_view && selfView.active) selfView.stop();
}

const catalogsNames = new Map();

// easy language (LS) is German with easier texts: the language stays "de", the setting says "easy".
function chooseLanguage(lang) {
  const easy = lang === EASY;
  if (Boolean(state.access && state.access.easy) !== easy) intent("set_access", { easy });
  intent("set_language", { language: easy ? "de" : lang });
}

async function switchLanguage(lang, offered) {
  catalog = await loadCatalog(lang);
  language = lang;
  document.documentElement.lang = lang === EASY ? "de" : lang;
  document.documentElement.dir = catalog.meta.dir === "rtl" ? "rtl" : "ltr";
  document.title = catalog.call.title;
  applyCatalog(document, catalog);
  const points = $("#consent-points");
  points.replaceChildren(...catalog.consent.points.map((text) => {
    const li = document.createElement("li");
    li.textContent = text;
    return li;
  }));
  buildKeyboard($("#keyboard"), [$("#detail-name"), $("#detail-customer-number")], catalog.waiting);
  buildCodePad($("#code-pad"), $("#appointment-code"), catalog.appointment);
  buildSurvey();
  // Each language's own name, for the language list: fetched side by side in the background, so
  // the screen shows as soon as its own language is there (the list shows codes until then).
  const missing = (offered.includes("de") ? [...offered, EASY] : offered).filter((other) => !catalogsNames.has(other));
  Promise.all(missing.map((other) => loadCatalog(other))).then((loaded) => {
    missing.forEach((other, i) => catalogsNames.set(other, loaded[i].meta.name));
    if (state) renderLanguages($("#language-list"), state, catalogsNames, chooseLanguage);
  }).catch(() => showError("common.error"));
}

function enterScreen(name) {
  closeModal($("#withdraw-dialog"));
  $("#details-sent").hidden = true;
  if (name === "waiting") {
    $("#detail-name").value = "";
    $("#detail-customer-number").value = "";
  }
  if (name === "survey") $("#survey-form").reset();
  if (name === "appointment") $("#appointment-code").value = "";
  window.scrollTo(0, 0);
  // Move focus to the new screen's heading, so screen readers and keyboards start at the top.
  const heading = document.querySelector(`[data-screen="${name}"] h1`);
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

function buildSurvey() {
  const rating = $("#rating");
  rating.replaceChildren();
  for (let n = 1; n <= 5; n += 1) {
    rating.append(choice("rating", String(n), String(n), format(catalog.survey.rating_n, { n })));
  }
  for (const group of document.querySelectorAll("[data-question]")) {
    const q = group.dataset.question;
    group.replaceChildren(
      choice(q, "yes", catalog.survey.yes, catalog.survey.yes),
      choice(q, "no", catalog.survey.no, catalog.survey.no),
    );
  }
}

function choice(name, value, face, label) {
  const wrap = document.createElement("label");
  wrap.className = "choice";
  const input = document.createElement("input");
  input.type = "radio";
  input.name = name;
  input.value = value;
  input.setAttribute("aria-label", label);
  const span = document.createElement("span");
  span.textContent = face;
  wrap.append(input, span);
  return wrap;
}

function showError(key) {
  const text = catalog ? lookup(catalog, key) || lookup(catalog, "common.error") : "";
  const box = $("#error");
  box.textContent = text;
  box.hidden = !text;
  // In the page's flow above the screen (style.css), so it covers no button: bring it into view.
  if (text) box.scrollIntoView({ block: "nearest" });
}

document.addEventListener("click", (event) => {
  const target = event.target.closest("button");
  if (!target || target.disabled) return;
  const access = accessIntent(target, state && state.access);
  if (access) {
    intent("set_access", access);
  } else if (target.dataset.action === "more-time") {
    intent("still_here", { more_time: true });
  } else if (target.dataset.intent) {
    if (target.dataset.intent === "withdraw") closeModal($("#withdraw-dialog"));
    intent(target.dataset.intent);
  } else if (target.dataset.action === "withdraw") {
    openModal($("#withdraw-dialog"));
  } else if (target.dataset.action === "mute") {
    intent("set_muted", { muted: target.getAttribute("aria-pressed") !== "true" });
  } else if (target.dataset.action === "withdraw-no") {
    closeModal($("#withdraw-dialog"));
  }
});
closeOnEscape($("#withdraw-dialog")); // its "no" by the keyboard

$("#details-form").addEventListener("submit", (event) => {
  event.preventDefault();
  intent("set_details", {
    name: $("#detail-name").value.trim() || null,
    customer_number: $("#detail-customer-number").value.trim() || null,
  });
  $("#details-sent").hidden = false;
});

$("#code-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const code = $("#appointment-code").value.trim();
  if (code) intent("submit_code", { code });
});

$("#survey-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const yesNo = (v) => (v === "yes" ? true : v === "no" ? false : null);
  intent("survey_submit", {
    rating: form.get("rating") ? Number(form.get("rating")) : null,
    easy: yesNo(form.get("easy")),
    again: yesNo(form.get("again")),
  });
});

// Any touch or key tells the daemon someone is there (at most every few seconds).
for (const kind of ["pointerdown", "keydown"]) {
  document.addEventListener(kind, () => {
    const now = Date.now();
    if (state && state.state !== "idle" && now - lastActivity > ACTIVITY_EVERY_MS) {
      lastActivity = now;
      intent("activity");
    }
  }, { capture: true, passive: true });
}

// At the booth only: at home (browser.js gives the transport) the customer's browser is their own.
if (!window.vkTransport) lockKiosk(window);
connect();
