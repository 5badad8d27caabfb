// Appointments in the advisor console: book, change, cancel, and see whether each invitation
// went out. Talks to /api/appointments (hub/appointments_web.py); texts from i18n/<lang>.json.
import { apply, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 15000;
const PENDING_REFRESH_MS = 1000; // while a mail is on its way, show its fate soon
const ROLES = ["interpreter", "sign_language_interpreter", "legal_representative", "other"];
const MAX_EXTRA = 3;
const state = { csrf: null, editing: null, timer: null, soon: null };

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": state.csrf }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, data };
}

async function refresh() {
  const { ok, data } = await api("/api/appointments");
  if (!ok) return;
  $("appointment-list").replaceChildren(...data.appointments.map(row));
  $("appointment-table").hidden = data.appointments.length === 0;
  $("appointments-empty").hidden = data.appointments.length > 0;
  const pending = data.appointments.some((a) => a.mails.some((m) => m.status === "pending"));
  clearTimeout(state.soon);
  if (pending) state.soon = setTimeout(refresh, PENDING_REFRESH_MS);
}

const when = (a) => new Date(a.starts_at).toLocaleString(document.documentElement.lang, {
  timeZone: "Europe/Berlin", weekday: "short", day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit",
});

function row(a) {
  const tr = $("appointment-row").content.firstElementChild.cloneNode(true);
  tr.dataset.appointmentId = a.appointment_id;
  tr.dataset.status = a.status;
  tr.querySelector(".when").textContent = a.status === "cancelled" ? `${when(a)} – ${t("appt_cancelled")}` : when(a);
  tr.querySelector(".who").textContent = [a.name, a.customer_number, a.customer_email].filter(Boolean).join(", ");
  tr.querySelector(".lang").textContent = a.language.toUpperCase();
  tr.querySelector(".extra").textContent = a.participants.map((p) => t(`role_${p.role}`)).join(", ") || "–";
  const mails = tr.querySelector(".mails");
  for (const mail of a.mails) {
    const li = document.createElement("li");
    li.dataset.mailStatus = mail.status;
    li.textContent = `${t(`role_${mail.role}`)}: ${t(`mail_${mail.kind}`)} – ${t(`mail_status_${mail.status}`)}`;
    if (mail.status !== "sent" && mail.last_error) li.textContent += ` (${mail.last_error})`;
    if (mail.status === "failed") {
      const retry = document.createElement("button");
      retry.type = "button";
      retry.textContent = t("mail_retry");
      retry.addEventListener("click", async () => { await api(`/api/mails/${mail.mail_id}/retry`, {}); refresh(); });
      li.append(" ", retry);
    }
    mails.append(li);
  }
  apply(tr);
  const cancelled = a.status === "cancelled";
  tr.querySelector(".edit").hidden = cancelled;
  tr.querySelector(".cancel").hidden = cancelled;
  tr.querySelector(".edit").addEventListener("click", () => edit(a));
  tr.querySelector(".cancel").addEventListener("click", async () => {
    if (!window.confirm(t("appt_cancel_confirm"))) return;
    await api(`/api/appointments/${a.appointment_id}/cancel`, {});
    refresh();
  });
  return tr;
}

function addParticipant(role = "interpreter", email = "") {
  const list = $("appt-participants");
  if (list.children.length >= MAX_EXTRA) return;
  const item = $("participant-row").content.firstElementChild.cloneNode(true);
  const select = item.querySelector("select");
  select.replaceChildren(...ROLES.map((r) => new Option(t(`role_${r}`), r, false, r === role)));
  item.querySelector("input").value = email;
  item.querySelector(".remove").addEventListener("click", () => { item.remove(); $("appt-add").hidden = false; });
  apply(item);
  list.append(item);
  $("appt-add").hidden = list.children.length >= MAX_EXTRA;
}

function edit(a) {
  state.editing = a ? a.appointment_id : null;
  const form = $("appointment-form");
  form.reset();
  $("appt-participants").replaceChildren();
  $("appt-add").hidden = false;
  $("appt-error").textContent = "";
  if (a) {
    form.elements.starts_local.value = a.starts_local;
    form.elements.duration_min.value = a.duration_min;
    form.elements.language.value = a.language;
    form.elements.customer_email.value = a.customer_email;
    form.elements.customer_number.value = a.customer_number || "";
    form.elements.name.value = a.name || "";
    for (const p of a.participants) addParticipant(p.role, p.email);
  }
  $("appt-submit").textContent = t(a ? "appt_save_changes" : "appt_create");
  $("appt-new").hidden = !a;
  if (a) form.elements.starts_local.focus();
}

async function submit(event) {
  event.preventDefault();
  const form = event.target;
  const body = {
    starts_local: form.elements.starts_local.value,
    duration_min: Number(form.elements.duration_min.value) || 30,
    language: form.elements.language.value,
    customer_email: form.elements.customer_email.value.trim(),
    customer_number: form.elements.customer_number.value.trim() || null,
    name: form.elements.name.value.trim() || null,
    participants: [...$("appt-participants").children].map((item) => ({
      role: item.querySelector("select").value, email: item.querySelector("input").value.trim(),
    })),
  };
  const path = state.editing ? `/api/appointments/${state.editing}` : "/api/appointments";
  const { ok, data } = await api(path, body);
  if (!ok) {
    const fields = (data.fields || []).map((f) => t(`appt_field_${f}`)).join(", ");
    $("appt-error").textContent = fields ? t("appt_invalid", { fields }) : t("appt_failed");
    return;
  }
  $("appt-saved").textContent = t(state.editing ? "appt_changed" : "appt_booked");
  edit(null);
  refresh();
}

async function show() {
  // The empty form comes first, before the round trip: an advisor who starts typing at once
  // (under load /api/me takes a while) must not see the date vanish when it returns.
  edit(null);
  const me = await fetch("/api/me");
  if (!me.ok) return;
  state.csrf = (await me.json()).csrf;
  $("appt-submit").disabled = false; // only now can a booking carry its CSRF token
  if (!state.timer) state.timer = setInterval(() => { if (!$("desk").hidden) refresh(); }, REFRESH_MS);
  refresh();
}

$("appointment-form").addEventListener("submit", submit);
$("appt-add").addEventListener("click", () => addParticipant());
$("appt-new").addEventListener("click", () => edit(null));
// The console shows #desk after log-in (console.js); appointments follow it, and its language.
new MutationObserver(() => { if (!$("desk").hidden) show(); }).observe($("desk"), { attributes: true, attributeFilter: ["hidden"] });
new MutationObserver(() => { if (!$("desk").hidden) { edit(null); refresh(); } })
  .observe(document.documentElement, { attributes: true, attributeFilter: ["lang"] });
