// The booth's screen stays the booth's page, as it was laid out, whatever a keyboard left plugged
// in (a technician's) or a mouse does. Chromium has no policy or flag that turns its shortcuts off
// (Ctrl+W, Alt+F4 close; Ctrl+N, Ctrl+T open; Ctrl +/-/0 and Ctrl+wheel zoom, pushing the call
// button off the screen with nobody able to undo it). But in --kiosk Chromium is full screen, and
// full screen it hands every shortcut except Ctrl+Shift+Q (quit) and F11 to the page first
// (BrowserCommandController::IsReservedCommandOrKey, crbug.com/680809): cancelled here, the browser
// never acts on them. Ctrl+Shift+Q ends Chromium, and the kiosk unit's Restart=always brings it back.
// The page needs none of these keys: it is touched, and keyboard users move with Tab, the arrows,
// Enter, Space and Escape, which pass (AltGr, which types @ and € on a German keyboard, is not Alt).
// Larger text is the page's own control (access.js); touch pinch is off by --disable-pinch
// (systemd/videokiosk-kiosk-session). At home (browser.js) none of this applies: the customer's own
// browser keeps its zoom and shortcuts.

const BROWSER_KEYS = /^(F([1-9]|1[0-2])|Browser[A-Za-z]+)$/;

export function isBrowserShortcut(event) {
  return event.ctrlKey || event.altKey || event.metaKey || BROWSER_KEYS.test(event.key);
}

export function lockKiosk(target) {
  target.addEventListener("keydown", (event) => {
    if (isBrowserShortcut(event)) event.preventDefault();
  }, { capture: true });
  // Not passive: only a listener that may cancel the wheel stops Chromium's Ctrl+wheel zoom.
  target.addEventListener("wheel", (event) => {
    if (event.ctrlKey) event.preventDefault();
  }, { capture: true, passive: false });
}
