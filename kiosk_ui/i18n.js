// Translations: every visible text comes from i18n/<lang>.json. Catalogs hold no personal data,
// so keeping them in memory across customers is fine.
const catalogs = new Map();

// easy language (LS): the German catalog with the easy-language texts (i18n/easy/de.json) laid over it.
export const EASY = "de-LS";

async function fetchCatalog(path) {
  const response = await fetch(`/static/i18n/${path}.json`, { cache: "no-store" });
  if (!response.ok) throw new Error(`no translation ${path}`);
  return response.json();
}

function merge(base, over) {
  const out = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = value && typeof value === "object" && !Array.isArray(value) ? merge(base[key] || {}, value) : value;
  }
  return out;
}

export async function loadCatalog(lang) {
  if (!catalogs.has(lang)) {
    const catalog = lang === EASY ? merge(await loadCatalog("de"), await fetchCatalog("easy/de")) : await fetchCatalog(lang);
    catalogs.set(lang, catalog);
  }
  return catalogs.get(lang);
}

// The language of the texts on screen: the snapshot's language, or easy language (LS).
export function textLanguage(snapshot) {
  return snapshot.access && snapshot.access.easy && snapshot.language === "de" ? EASY : snapshot.language;
}

export function lookup(catalog, key) {
  return key.split(".").reduce((node, part) => (node == null ? undefined : node[part]), catalog);
}

export function format(text, vars = {}) {
  return String(text).replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : ""));
}

// Fill every [data-t] element's text and every [data-t-label] element's accessible name.
export function applyCatalog(root, catalog) {
  for (const el of root.querySelectorAll("[data-t]")) {
    const text = lookup(catalog, el.dataset.t);
    if (typeof text === "string") el.textContent = text;
  }
  for (const el of root.querySelectorAll("[data-t-label]")) {
    const text = lookup(catalog, el.dataset.tLabel);
    if (typeof text === "string") el.setAttribute("aria-label", text);
  }
}
