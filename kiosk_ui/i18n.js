// Translations: every visible text comes from i18n/<lang>.json. Catalogs hold no personal data,
// so keeping them in memory across customers is fine.
const catalogs = new Map();

export async function loadCatalog(lang) {
  if (!catalogs.has(lang)) {
    const response = await fetch(`/static/i18n/${lang}.json`, { cache: "no-store" });
    if (!response.ok) throw new Error(`no translation for ${lang}`);
    catalogs.set(lang, await response.json());
  }
  return catalogs.get(lang);
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
