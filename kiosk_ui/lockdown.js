// Zoom stays where the booth put it. A technician's keyboard left plugged in, or a mouse wheel
// with Ctrl held, would otherwise zoom the page (Chromium's own Ctrl +, Ctrl -, Ctrl 0), pushing
// the call button off the screen with nobody able to undo it; larger text is the page's own
// control (access.js). Touch pinch is off by Chromium's --disable-pinch
// (systemd/videokiosk-kiosk-session). What a page cannot stop (Ctrl+W, Alt+F4, Ctrl+N) the
// kiosk's Chromium policy, --kiosk and the unit's Restart=always handle.

const ZOOM_KEYS = new Set(["+", "-", "=", "_", "0"]);
const ZOOM_CODES = new Set(["NumpadAdd", "NumpadSubtract", "Numpad0", "Equal", "Minus", "Digit0"]);

export function isZoomKey(event) {
  return (event.ctrlKey || event.metaKey) && (ZOOM_KEYS.has(event.key) || ZOOM_CODES.has(event.code));
}

export function guardZoom(target) {
  target.addEventListener("keydown", (event) => {
    if (isZoomKey(event)) event.preventDefault();
  }, { capture: true });
  // Not passive: only a listener that may cancel the wheel stops Chromium's Ctrl+wheel zoom.
  target.addEventListener("wheel", (event) => {
    if (event.ctrlKey) event.preventDefault();
  }, { capture: true, passive: false });
}
