// Translations: the page's text comes from i18n/<lang>.json, never from code.
let dict = {};
export let language = localStorage.getItem("vk-console-lang") || "de";

export function t(key, vars = {}) {
  let text = dict[key] ?? key;
  for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

// Whom a waiting row or a call is about, as the customer gave it ("" when they gave nothing).
export function customer({ name, customer_number: number }) {
  return [name, number && t("customer_number", { number })].filter(Boolean).join(", ");
}

export function apply(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}

// Which load() is the latest: a language touched while the page's own first load is on its way
// must not be overwritten by that load's later answer.
let loads = 0;

export async function load(lang) {
  const mine = ++loads;
  const response = await fetch(`/console/i18n/${lang}.json`);
  if (!response.ok) return;
  const words = await response.json();
  if (mine !== loads) return;
  dict = words;
  language = lang;
  localStorage.setItem("vk-console-lang", lang);
  document.documentElement.lang = lang;
  apply();
}
