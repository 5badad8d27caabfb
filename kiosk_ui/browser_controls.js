// The home customer's own microphone and camera during the call (browser.js). The booth has a
// mute toggle only (its camera is the booth's); at home the customer may also turn their camera
// off. Both act on the browser's own tracks: a disabled track sends silence or black frames, so
// the advisor sees and hears exactly that, with no renegotiation. The mute toggle is the page's
// own (#mute, screens.js renderMute, driven by the snapshot's call.muted); the camera toggle is
// added next to it here, in the same style, labelled from the same translation files.
import { loadCatalog, lookup } from "./i18n.js";

export class HomeControls {
  // onCamera(off): the customer pressed the camera toggle.
  constructor(onCamera) {
    this.muted = false;
    this.cameraOff = false;
    this.button = null;
    this.onCamera = onCamera;
  }

  // Every call starts with microphone and camera on, whatever the last call did.
  reset() {
    this.muted = false;
    this.cameraOff = false;
  }

  // Apply the current choice to the call's tracks (also when the stream is new).
  apply(stream) {
    if (!stream) return;
    for (const track of stream.getAudioTracks()) track.enabled = !this.muted;
    for (const track of stream.getVideoTracks()) track.enabled = !this.cameraOff;
  }

  // The call screen's camera toggle: label says what a tap will do, aria-pressed what is now.
  async render(snapshot) {
    const button = this.ensureButton();
    if (!button) return;
    button.hidden = snapshot.state !== "call";
    button.setAttribute("aria-pressed", String(this.cameraOff));
    const catalog = await loadCatalog(snapshot.language).catch(() => null);
    const text = catalog && lookup(catalog, this.cameraOff ? "call.camera_on" : "call.camera_off");
    if (typeof text === "string") button.textContent = text;
  }

  ensureButton() {
    if (!this.button) {
      this.button = callButton("camera-toggle", "mute", () => this.onCamera(!this.cameraOff));
      if (this.button) this.button.setAttribute("aria-pressed", "false");
    }
    return this.button;
  }
}

// A call control after the element ``afterId`` (else after the mute toggle), in the mute toggle's
// look (large, red while pressed), hidden until its owner shows it; null before the page has one.
export function callButton(id, afterId, onClick) {
  const mute = document.getElementById("mute");
  if (!mute) return null;
  const button = document.createElement("button");
  button.type = "button";
  button.id = id;
  button.className = mute.className;
  button.hidden = true;
  button.addEventListener("click", onClick);
  (document.getElementById(afterId) || mute).after(button);
  return button;
}
