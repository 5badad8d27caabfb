// The page's dialogs (the inactivity question, the withdrawal's question) are modal: aria-modal tells a
// screen reader that nothing else is there while one is open, so the keyboard must not reach it
// either. Everything beside an open dialog is inert; when it closes, the focus goes back to where
// it was before it opened (the button that opened it), or, if that is gone with a screen change,
// to the screen's heading: never to the page's start (EN 301 549 9.2.4.3, the ARIA dialog pattern).
//
//   openModal($("#withdraw-dialog"));   // focus on its first button
//   closeModal($("#withdraw-dialog"));  // focus back on the withdrawal button that opened it

const openers = new Map(); // open overlay -> the element that had the focus when it opened

function overlays(root) {
  return [...root.querySelectorAll(":scope > .overlay")];
}

function syncInert(root) {
  const open = overlays(root).filter((overlay) => !overlay.hidden);
  for (const child of root.children) child.inert = open.length > 0 && !open.includes(child);
}

export function openModal(overlay, focus = overlay.querySelector("button")) {
  if (!overlay.hidden) return;
  openers.set(overlay, document.activeElement);
  overlay.hidden = false;
  syncInert(overlay.parentElement);
  if (focus) focus.focus();
}

export function closeModal(overlay) {
  if (overlay.hidden) return;
  overlay.hidden = true;
  syncInert(overlay.parentElement);
  const back = openers.get(overlay);
  openers.delete(overlay);
  if (back && back !== document.body && back.isConnected && back.getClientRects().length > 0) {
    back.focus();
  } else {
    const heading = overlay.parentElement.querySelector("[data-screen]:not([hidden]) h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  }
}

// Tab and Shift+Tab go round the open dialog's buttons: past its last one, back to its first
// (inert alone would hand the focus to the browser's own bar, outside the page).
document.addEventListener("keydown", (event) => {
  if (event.key !== "Tab") return;
  const open = [...openers.keys()].find((overlay) => !overlay.hidden);
  if (!open) return;
  const stops = [...open.querySelectorAll("button, input, [tabindex='0']")].filter((el) => !el.disabled && el.getClientRects().length > 0);
  if (stops.length === 0) return;
  const [first, last] = [stops[0], stops[stops.length - 1]];
  const inside = open.contains(document.activeElement);
  if (event.shiftKey && (document.activeElement === first || !inside)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (document.activeElement === last || !inside)) {
    event.preventDefault();
    first.focus();
  }
});

// Escape closes a dialog whose closing decides nothing (the withdrawal's "no").
export function closeOnEscape(overlay) {
  overlay.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !overlay.hidden) {
      event.preventDefault();
      closeModal(overlay);
    }
  });
}
