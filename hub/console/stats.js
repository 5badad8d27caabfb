// The lead's statistics page: anonymous per-day numbers as bar charts (inline SVG), a table, CSV.
// Everything shown comes from /api/stats, which reads only the anonymous statistics tables.
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
let dict = {};
const t = (key) => dict[key] ?? key;

async function loadLanguage() {
  const lang = localStorage.getItem("vk-console-lang") || "de";
  const response = await fetch(`/console/stats_i18n/${lang === "en" ? "en" : "de"}.json`);
  if (response.ok) dict = await response.json();
  document.documentElement.lang = lang === "en" ? "en" : "de";
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function query() {
  const params = new URLSearchParams({ from: $("from").value, to: $("to").value });
  if ($("location").value) params.set("location", $("location").value);
  return params.toString();
}

function showError(key) {
  $("stats-error").textContent = t(key);
  $("stats-error").hidden = false;
}

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// One group of bars per label; series = [{cls, values, title}], stacked or side by side.
function barChart(svg, labels, series, { stacked = false, max = null, format = (v) => v } = {}) {
  svg.replaceChildren();
  const width = 600, height = 220, left = 40, bottom = 30, top = 10;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const totals = labels.map((_, i) => stacked
    ? series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0)
    : Math.max(0, ...series.map((s) => s.values[i] ?? 0)));
  const top_value = max ?? Math.max(1, ...totals);
  const plotH = height - bottom - top, slot = (width - left) / Math.max(1, labels.length);
  const barW = stacked ? slot * 0.6 : (slot * 0.7) / series.length;
  svg.append(el("line", { class: "axis", x1: left, y1: top + plotH, x2: width, y2: top + plotH }));
  svg.append(el("line", { class: "axis", x1: left, y1: top, x2: left, y2: top + plotH }));
  svg.append(el("text", { x: 2, y: top + 10 }, format(top_value)));
  svg.append(el("text", { x: 2, y: top + plotH }, "0"));
  labels.forEach((label, i) => {
    let base = top + plotH;
    series.forEach((s, j) => {
      const value = s.values[i] ?? 0;
      const h = (value / top_value) * plotH;
      const x = left + i * slot + (stacked ? slot * 0.2 : slot * 0.15 + j * barW);
      const y = stacked ? base - h : top + plotH - h;
      const rect = el("rect", { class: `bar ${s.cls}`, x: x.toFixed(1), y: y.toFixed(1), width: barW.toFixed(1),
                                height: h.toFixed(1), "data-value": value });
      rect.append(el("title", {}, `${label}: ${s.title} ${format(value)}`));
      svg.append(rect);
      if (stacked) base -= h;
    });
    svg.append(el("text", { x: (left + i * slot + slot / 2).toFixed(1), y: height - 10, "text-anchor": "middle" },
                  label.length === 10 ? label.slice(5) : label));
  });
}

function render(data) {
  const days = data.days;
  $("stats-empty").hidden = days.length > 0;
  $("charts").hidden = days.length === 0;
  $("stats-table").hidden = data.rows.length === 0;
  const labels = days.map((d) => d.day);
  barChart($("calls-chart"), labels, [
    { cls: "walk-in", title: t("walk_ins"), values: days.map((d) => d.walk_ins) },
    { cls: "appointment", title: t("appointments"), values: days.map((d) => d.appointments) },
  ], { stacked: true });
  const minutes = (s) => (s == null ? 0 : Math.round(s / 6) / 10);
  barChart($("wait-chart"), labels, [
    { cls: "median", title: t("wait_median"), values: days.map((d) => minutes(d.wait_median_s)) },
    { cls: "p90", title: t("wait_p90"), values: days.map((d) => minutes(d.wait_p90_s)) },
  ]);
  barChart($("quality-chart"), labels, [
    { cls: "good", title: t("col_good"), values: days.map((d) => (d.good_share == null ? 0 : Math.round(d.good_share * 100))) },
  ], { max: 100 });
  const ratings = [1, 2, 3, 4, 5];
  barChart($("rating-chart"), ratings.map(String), [
    { cls: "rating", title: t("col_rating"), values: ratings.map((r) => days.reduce((n, d) => n + d[`rating_${r}`], 0)) },
  ]);
  const body = $("stats-rows");
  body.replaceChildren();
  const fmtMin = (s) => (s == null ? "–" : `${minutes(s)} min`);
  for (const r of data.rows) {
    const tr = document.createElement("tr");
    const cells = [r.day, r.location, r.calls, r.walk_ins, r.appointments, fmtMin(r.wait_median_s), fmtMin(r.wait_p90_s),
      fmtMin(r.call_mean_s), r.good_share == null ? "–" : `${Math.round(r.good_share * 100)} %`,
      ratings.map((n) => r[`rating_${n}`]).join(" / "), `${r.easy_yes} / ${r.easy_no}`, `${r.again_yes} / ${r.again_no}`];
    for (const value of cells) {
      const td = document.createElement("td");
      td.textContent = String(value);
      tr.append(td);
    }
    body.append(tr);
  }
  const select = $("location"), chosen = select.value;
  for (const loc of data.locations) {
    if (![...select.options].some((o) => o.value === loc)) select.append(new Option(loc, loc));
  }
  select.value = chosen;
  $("csv").href = `/api/stats.csv?${query()}`;
  document.body.dataset.loaded = "true";
}

async function refresh() {
  $("stats-error").hidden = true;
  let response;
  try {
    response = await fetch(`/api/stats?${query()}`, { credentials: "same-origin" });
  } catch {
    showError("failed");
    return;
  }
  if (response.status === 401) return showError("not_logged_in");
  if (response.status === 403) return showError("not_lead");
  if (!response.ok) return showError("failed");
  $("stats-filter").hidden = false;
  render(await response.json());
}

async function main() {
  await loadLanguage();
  const params = new URLSearchParams(location.search);
  const today = new Date();
  $("to").value = params.get("to") || isoDay(today);
  $("from").value = params.get("from") || isoDay(new Date(today.getTime() - 29 * 86400000));
  $("stats-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    refresh();
  });
  await refresh();
}

main();
