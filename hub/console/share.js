// The advisor shares a screen, window or tab with the customer: getDisplayMedia's track goes on
// the booth's extra receive-only video transceiver (rtc/screenshare.py) with replaceTrack, so
// starting and stopping need no renegotiation; the booth learns of it by a screen_share message.
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);

export class ScreenShare {
  constructor(chat) {
    this.chat = chat;
    this.sender = null;
    this.stream = null;
    document.addEventListener("vk-peer", (event) => this.attach(event.detail.pc));
    document.addEventListener("vk-call-ended", () => this.stop(false));
    $("share").addEventListener("click", () => (this.stream ? this.stop(true) : this.start()));
  }

  // Called between the booth's offer and our answer: answer the extra video send-only.
  attach(pc) {
    const video = pc.getTransceivers().filter((tr) => tr.receiver.track.kind === "video");
    const slot = video[1];
    this.sender = null;
    if (!slot) return; // a booth without screen sharing
    slot.direction = "sendonly";
    this.sender = slot.sender;
    if (this.stream) this.sender.replaceTrack(this.stream.getVideoTracks()[0]); // the booth re-offered
    $("share").hidden = false;
  }

  async start() {
    if (!this.sender) return;
    $("share-error").textContent = "";
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 15 }, audio: false });
    } catch {
      $("share-error").textContent = t("share_error");
      return;
    }
    const track = stream.getVideoTracks()[0];
    track.addEventListener("ended", () => this.stop(true)); // "Stop sharing" in the browser's own bar
    this.stream = stream;
    await this.sender.replaceTrack(track);
    $("share-preview").srcObject = stream;
    $("share-active").hidden = false;
    this.label(true);
    this.signal(true);
  }

  stop(tellBooth) {
    const stream = this.stream;
    this.stream = null;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    if (this.sender && stream) this.sender.replaceTrack(null).catch(() => {});
    $("share-preview").srcObject = null;
    $("share-active").hidden = true;
    this.label(false);
    if (tellBooth && stream) this.signal(false);
    if (!tellBooth) { this.sender = null; $("share").hidden = true; }
  }

  signal(sharing) {
    if (this.chat.callId) this.chat.deliver({ type: "screen_share", call_id: this.chat.callId, sharing });
  }

  label(sharing) {
    $("share").setAttribute("aria-pressed", String(sharing));
    $("share").dataset.i18n = sharing ? "share_stop" : "share_start";
    $("share").textContent = t($("share").dataset.i18n);
  }
}
