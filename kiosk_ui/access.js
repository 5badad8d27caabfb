// The accessibility settings on screen: contrast and text size as classes on <html>, the toggles'
// pressed state, the volume buttons while speech is on. The daemon keeps the settings
// (appliance/access.py); the page only shows them and sends "set_access".
const VOLUME_MIN = 1;
const VOLUME_MAX = 5;

export function renderAccess(access) {
  const a = access || {};
  const root = document.documentElement;
  root.classList.toggle("contrast", Boolean(a.contrast));
  root.classList.toggle("large-text", Boolean(a.large_text));
  for (const button of document.querySelectorAll("[data-access]")) {
    button.setAttribute("aria-pressed", String(Boolean(a[button.dataset.access])));
  }
  for (const button of document.querySelectorAll("[data-volume]")) {
    const next = (a.volume || 0) + Number(button.dataset.volume);
    button.hidden = !a.speech;
    button.disabled = next < VOLUME_MIN || next > VOLUME_MAX;
  }
}

// The intent data for a tap on one of the accessibility buttons (null: not one of them).
export function accessIntent(button, access) {
  if (button.dataset.access) return { [button.dataset.access]: button.getAttribute("aria-pressed") !== "true" };
  if (button.dataset.volume) {
    const next = (access && access.volume ? access.volume : 0) + Number(button.dataset.volume);
    return { volume: Math.min(VOLUME_MAX, Math.max(VOLUME_MIN, next)) };
  }
  return null;
}
