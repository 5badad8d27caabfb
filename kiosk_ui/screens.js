// Rendering of the parts of the screen that change within a state. Pure DOM from snapshot data.
import { EASY, format, textLanguage } from "./i18n.js";
import { closeModal, openModal } from "./modal.js";

const $ = (selector) => document.querySelector(selector);

export function renderLanguages(list, snapshot, names, choose) {
  // easy language (LS) is one more choice wherever German is offered.
  const offered = snapshot.languages.includes("de") ? [...snapshot.languages, EASY] : snapshot.languages;
  const wanted = offered.join(",");
  if (list.dataset.built !== wanted || list.children.length !== offered.length) {
    list.replaceChildren(...offered.map((lang) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "language";
      button.dataset.lang = lang;
      const flag = document.createElement("img");
      flag.src = `/static/assets/flag-${lang === EASY ? "de" : lang}.svg`;
      flag.alt = "";
      const name = document.createElement("span");
      name.lang = lang === EASY ? "de" : lang;
      name.textContent = names.get(lang) || lang;
      button.append(flag, name);
      button.addEventListener("click", () => choose(lang));
      li.append(button);
      return li;
    }));
    list.dataset.built = wanted;
  }
  for (const button of list.querySelectorAll("button")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === textLanguage(snapshot)));
    const span = button.querySelector("span");
    if (names.has(button.dataset.lang)) span.textContent = names.get(button.dataset.lang);
  }
}

export function renderChecks(checks, catalog) {
  const t = catalog.check;
  const list = $("#check-list");
  list.replaceChildren(...checks.order.map((name) => {
    const result = checks.results[name];
    const status = result ? result.status : "pending";
    const li = document.createElement("li");
    li.className = `check ${status}`;
    li.dataset.check = name;
    const title = document.createElement("span");
    title.className = "check-name";
    title.textContent = t.names[name];
    const verdict = document.createElement("span");
    verdict.className = "check-status";
    verdict.textContent = status === "pending" && checks.running ? t.running : t.status[status];
    li.append(title, verdict);
    if (result && result.hint && status !== "pass") { // a passed row never shows a problem beside it
      const hint = document.createElement("p");
      hint.className = "check-hint";
      hint.textContent = t.hints[result.hint] || t.hints["check.error"];
      li.append(hint);
    }
    return li;
  }));
  const failed = Object.values(checks.results).some((r) => r.status === "fail");
  const done = !checks.running && Object.keys(checks.results).length === checks.order.length;
  $("#continue").disabled = !checks.passed;
  // A row with a hint (a speaker that stays silent, say) may still let the customer continue, and
  // may still be worth another try.
  const hinted = Object.values(checks.results).some((r) => r.hint && r.status !== "pass");
  const recheck = $("#recheck");
  const hide = !(done && (!checks.passed || hinted));
  if (hide && document.activeElement === recheck) {
    // The recheck button goes while the checks run again: the focus goes to what they say, not
    // to the page's start (EN 301 549 9.2.4.3).
    $("#check-summary").tabIndex = -1;
    $("#check-summary").focus();
  }
  recheck.hidden = hide;
  $("#check-summary").textContent = checks.passed ? (hinted ? t.passed_with_hints : t.passed) : (done && failed ? t.failed : t.running);
}

export function renderWaiting(waiting, catalog) {
  const t = catalog.waiting;
  $("#advisor-informed").hidden = !waiting.advisor_informed;
  show($("#queue-position"), waiting.position != null, () => format(t.position, { position: waiting.position }));
  show($("#queue-wait"), waiting.estimated_wait_s != null, () => {
    const minutes = Math.ceil(waiting.estimated_wait_s / 60);
    return minutes < 1 ? t.wait_short : format(t.wait_minutes, { minutes });
  });
  // The invitation's own words, with the date in the language's form ("23.5.2023" in German).
  show($("#appointment"), Boolean(waiting.appointment_time), () => (waiting.appointment_date
    ? format(t.appointment_at, { date: localDate(waiting.appointment_date, catalog.meta.locale), time: waiting.appointment_time })
    : format(t.appointment, { time: waiting.appointment_time })));
}

// "2023-05-23" (a calendar date, no zone) in the language's short numeric form.
function localDate(isoDate, locale) {
  const [y, m, d] = isoDate.split("-").map(Number);
  return new Intl.DateTimeFormat(locale, { day: "numeric", month: "numeric", year: "numeric", timeZone: "UTC" })
    .format(new Date(Date.UTC(y, m - 1, d)));
}

// The consent screen: the booth's headset hint only where one is fitted (the daemon says so).
export function renderConsent(consent) {
  $("#consent-headset").hidden = !(consent && consent.headset);
}

export function renderAppointment(appointment, catalog) {
  const t = catalog.appointment;
  show($("#code-status"), Boolean(appointment.checking), () => t.checking);
  show($("#code-error"), Boolean(appointment.error), () => format(t.errors[appointment.error] || t.errors.unknown, { time: appointment.opens_at || "" }));
  $("#code-submit").disabled = Boolean(appointment.checking);
}

// The customer's mute toggle: its label says what a tap will do, aria-pressed what is now.
export function renderMute(call, catalog) {
  const button = $("#mute");
  // Only where the far side can mute (the booth daemon); a home browser (browser.js) has no "muted".
  button.hidden = typeof call.muted !== "boolean";
  button.setAttribute("aria-pressed", String(Boolean(call.muted)));
  button.textContent = call.muted ? catalog.call.unmute : catalog.call.mute;
}

// A group call: the further participants' tiles next to the advisor's, each named by role (the
// booth knows no names of them). ``peers`` is the daemon's list of {slot, role}.
export function renderPeers(peers, catalog) {
  const roles = catalog.call.roles;
  for (const tile of document.querySelectorAll(".peer-tile")) {
    const peer = peers.find((p) => `peer-tile-${p.slot}` === tile.id);
    tile.hidden = !peer;
    tile.dataset.role = peer ? peer.role : "";
    const label = peer ? roles[peer.role] || roles.other : "";
    tile.querySelector("figcaption").textContent = label;
    tile.querySelector("video").setAttribute("aria-label", label);
  }
  $("#call-view").classList.toggle("group", peers.length > 0);
  // A sign-language interpreter's hands must be readable: half the width, like the advisor.
  $("#call-view").classList.toggle("signing", peers.some((p) => p.role === "sign_language_interpreter"));
}

export function renderGoodbye(goodbye, catalog) {
  const box = $("#declined");
  box.hidden = !goodbye.declined && !goodbye.refused;
  // The advisor's own words, if any, else the general sentence; at home, why the link no longer
  // opens (the appointment was cancelled, changed or is over while the customer was in it).
  const errors = catalog.appointment.errors;
  box.textContent = goodbye.declined ? goodbye.message || catalog.goodbye.declined
    : goodbye.refused ? format(errors[goodbye.refused] || errors.unknown, { time: "" }) : "";
  // The booth reaches goodbye only after a consent (withdrawable is not sent); at home, see browser.js.
  $('[data-screen="goodbye"] [data-action="withdraw"]').hidden = goodbye.withdrawable === false;
}

// Out of service: the same calm notice in every offered language at once (nobody has to find the
// language button of a booth that cannot help them), with the office's hours or the nearest booth.
export function renderOutOfService(notice, catalogs) {
  const blocks = catalogs.map(([lang, catalog]) => {
    const text = catalog.out_of_service;
    const block = document.createElement("div");
    block.lang = lang;
    block.dir = catalog.meta.dir === "rtl" ? "rtl" : "ltr";
    block.className = "oos-notice";
    const lines = [text.title, text.lead];
    if (notice.opening_hours) lines.push(format(text.opening_hours, { hours: notice.opening_hours }));
    if (notice.nearest_booth) lines.push(format(text.nearest_booth, { booth: notice.nearest_booth }));
    for (const line of lines) {
      const p = document.createElement("p");
      p.textContent = line;
      block.append(p);
    }
    return block;
  });
  $("#oos-notices").replaceChildren(...blocks);
}

export function renderStillThere(still, catalog) {
  const overlay = $("#still-there");
  if (still) {
    $("#still-countdown").textContent = format(catalog.still.countdown, { seconds: still.seconds_left });
    openModal(overlay, overlay.querySelector("button.primary"));
  } else {
    closeModal(overlay);
  }
}

function show(el, visible, text) {
  el.hidden = !visible;
  el.textContent = visible ? text() : "";
}
