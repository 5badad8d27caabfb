// The camera switch at home (browser.js, call.camera_switch): a phone with a front and a back camera (any browser that
// offers more than one video input) switches between them during the call. The new camera's track
// takes the old one's place on every connection that sends it (RTCRtpSender.replaceTrack: no
// renegotiation, the advisor's picture just changes) and in the call's stream; the old camera is
// released. The button sits next to the camera toggle, in the same style, and shows only in the
// call and only while the browser offers more than one camera.
import { loadCatalog, lookup } from "./i18n.js";
import { VIDEO } from "./browser_checks.js";
import { callButton } from "./browser_controls.js";

const cameras = async () => (navigator.mediaDevices && navigator.mediaDevices.enumerateDevices
  ? (await navigator.mediaDevices.enumerateDevices()).filter((device) => device.kind === "videoinput")
  : []);

export class CameraSwitch {
  // onSwitch(): the customer pressed the switch button.
  constructor(onSwitch) {
    this.onSwitch = onSwitch;
    this.button = null;
    this.count = 0; // video inputs the browser offers (labels and ids known once permitted)
    this.snapshot = null;
    if (navigator.mediaDevices) navigator.mediaDevices.addEventListener("devicechange", () => this.render(this.snapshot));
  }

  async render(snapshot) {
    this.snapshot = snapshot;
    const button = this.ensureButton();
    if (!button || !snapshot) return;
    this.count = snapshot.state === "call" ? (await cameras().catch(() => [])).length : 0;
    button.hidden = this.count < 2;
    const catalog = await loadCatalog(snapshot.language).catch(() => null);
    const text = catalog && lookup(catalog, "call.camera_switch");
    if (typeof text === "string") button.textContent = text;
  }

  // The next camera after the one ``stream`` sends now, on ``connections`` (each peer connection
  // that may send it: the advisor's, other participants', the page's self-view). Returns whether
  // it switched; the old track's on/off state carries over.
  async switch(stream, connections) {
    const old = stream && stream.getVideoTracks()[0];
    if (!old) return false;
    const all = await cameras();
    const current = old.getSettings().deviceId;
    const next = all[(all.findIndex((camera) => camera.deviceId === current) + 1) % all.length];
    if (!next || next.deviceId === current) return false;
    // The old camera first: many phones cannot hold the front and the back camera open at once.
    const senders = connections.flatMap((pc) => (pc ? pc.getSenders() : [])).filter((sender) => sender.track === old);
    old.stop();
    const fresh = (await navigator.mediaDevices.getUserMedia({ video: { ...VIDEO, deviceId: { exact: next.deviceId } } })).getVideoTracks()[0];
    fresh.enabled = old.enabled;
    stream.removeTrack(old);
    stream.addTrack(fresh);
    for (const sender of senders) await sender.replaceTrack(fresh);
    return true;
  }

  ensureButton() {
    if (!this.button) this.button = callButton("camera-switch", "camera-toggle", () => this.onSwitch());
    return this.button;
  }
}
