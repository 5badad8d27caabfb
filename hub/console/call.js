// The advisor's end of a call: Chromium's own WebRTC. The booth (aiortc) offers right after the
// admit with all its candidates in the SDP; we answer at once and trickle our candidates.
import { customer, t } from "./i18n.js";
import { wallNow } from "./timings.js";

const $ = (id) => document.getElementById(id);

export class Call {
  constructor(send, timings) {
    this.send = send;
    this.timings = timings;
    this.media = null;
    this.pc = null;
    this.callId = null;
    this.iceServers = [];
    $("mute").addEventListener("click", () => this.toggle("audio", $("mute"), "mute", "unmute"));
    $("camera").addEventListener("click", () => this.toggle("video", $("camera"), "camera_off", "camera_on"));
    $("hangup").addEventListener("click", () => this.hangup());
  }

  get active() { return this.callId !== null; }

  // Asked for when the advisor clicks "Eintreten lassen", in parallel with the admit round trip.
  prepareMedia() {
    if (!this.media) {
      this.media = navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480, frameRate: 30 } });
      this.media.then((stream) => {
        this.timings.mediaAt = wallNow();
        $("local-video").srcObject = stream;
      }, () => this.status("call_media_error"));
    }
    return this.media;
  }

  releaseMedia() {
    if (this.media) this.media.then((s) => s.getTracks().forEach((tr) => tr.stop()), () => {});
    this.media = null;
    $("local-video").srcObject = null;
  }

  accepted(callId, iceServers) {
    this.callId = callId;
    this.iceServers = iceServers.map(({ urls, username, credential }) =>
      Object.fromEntries(Object.entries({ urls, username, credential }).filter(([, v]) => v != null)));
    this.prepareMedia();
    if (this.pc) this.pc.close(); // back after a lost connection: the booth offers afresh
    const pc = this.newPeerConnection(); // ready, with our tracks, before the booth's offer arrives
    this.pc = pc;
    this.pcUsed = false;
    this.prepareMedia().then((stream) => {
      // The booth's offer will take these transceivers (matched by kind): less work at the answer.
      if (this.pc === pc && !this.pcUsed) for (const track of stream.getTracks()) pc.addTrack(track, stream);
    }, () => {});
    $("call").hidden = false;
    this.showCustomer({ call_id: callId });
    this.status("call_connecting");
  }

  async onOffer(msg) {
    if (msg.call_id !== this.callId) return;
    this.timings.offerAt = wallNow();
    if (this.pc && this.pcUsed) { // the booth rejoined with a fresh peer connection
      this.pc.close();
      this.pc = this.newPeerConnection();
    }
    this.pcUsed = true;
    const pc = this.pc;
    const remote = new MediaStream();
    $("remote-video").srcObject = remote;
    pc.ontrack = (event) => {
      remote.addTrack(event.track);
      if (event.track.kind === "video") this.watchFirstFrame();
    };
    pc.onicecandidate = ({ candidate }) => {
      if (pc !== this.pc) return;
      this.send({
        type: "candidate", call_id: this.callId,
        candidate: candidate ? candidate.candidate : "",
        sdp_mid: candidate ? candidate.sdpMid : null,
        sdp_mline_index: candidate ? candidate.sdpMLineIndex : null,
      });
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc) return;
      if (pc.connectionState === "connected") {
        this.timings.connectedAt = wallNow();
        this.status("call_connected");
      }
      if (pc.connectionState === "disconnected" || pc.connectionState === "failed") this.status("call_reconnecting");
    };
    await pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
    this.timings.remoteSetAt = wallNow();
    // Chat and screen sharing (chat.js, share.js) add their parts here, before the answer.
    document.dispatchEvent(new CustomEvent("vk-peer", { detail: { pc, callId: this.callId } }));
    // The answer does not wait for the camera (getUserMedia can take longer than the whole
    // answer): the first audio and video transceivers send, and the tracks join by replaceTrack.
    const slots = this.cameraSlots(pc);
    for (const tr of Object.values(slots)) if (!tr.sender.track) tr.direction = "sendrecv";
    const answer = await pc.createAnswer();
    this.timings.answerMadeAt = wallNow();
    await pc.setLocalDescription(answer);
    this.send({ type: "answer", call_id: this.callId, sdp: pc.localDescription.sdp });
    this.timings.answerAt = wallNow();
    this.prepareMedia().then((stream) => {
      if (pc !== this.pc) return;
      for (const track of stream.getTracks()) {
        const tr = slots[track.kind];
        if (tr && !tr.sender.track) tr.sender.replaceTrack(track);
      }
    }, () => {}); // still receive the customer; the advisor sees the media error
  }

  // The first audio and the first video transceiver carry the camera and microphone, whatever the
  // offerer's order; a screen-share slot (share.js) always comes after them.
  cameraSlots(pc) {
    const slots = {};
    for (const tr of pc.getTransceivers()) {
      const kind = tr.receiver.track.kind;
      if (!slots[kind]) slots[kind] = tr;
    }
    return slots;
  }

  // Created at the admit, before the booth's offer arrives: the candidate pool gathers meanwhile,
  // so our answer's own gathering (binding sockets, asking STUN/TURN) is off the critical path.
  // Every offerer here bundles (the booth's aiortc with max-bundle, browsers by default).
  newPeerConnection() {
    return new RTCPeerConnection({ iceServers: this.iceServers, iceCandidatePoolSize: 1, bundlePolicy: "max-bundle" });
  }

  async onCandidate(msg) {
    if (msg.call_id !== this.callId || !this.pc || !msg.candidate) return;
    await this.pc.addIceCandidate({ candidate: msg.candidate, sdpMid: msg.sdp_mid, sdpMLineIndex: msg.sdp_mline_index });
  }

  // Whom this call is with (call_customer): after the admit, and again if the customer's details
  // crossed the admit on their way.
  showCustomer(msg) {
    if (msg.call_id !== this.callId) return; // a further participant's link (group.js) or an old call
    const el = $("call-customer");
    const text = customer(msg);
    el.textContent = text ? t("call_customer", { customer: text }) : "";
    el.hidden = !text;
  }

  onState(msg) {
    if (msg.call_id !== this.callId) return;
    if (msg.state === "reconnecting") this.status("call_reconnecting");
    if (msg.state === "resumed") this.status("call_connecting");
    if (msg.state === "ended") this.teardown(msg.reason === "timeout" ? "call_timeout" : "call_ended");
  }

  watchFirstFrame() {
    const video = $("remote-video");
    if (!video.requestVideoFrameCallback) return;
    video.requestVideoFrameCallback(() => {
      this.timings.firstFrame = wallNow();
      document.dispatchEvent(new CustomEvent("vk-first-frame"));
    });
  }

  toggle(kind, button, onKey, offKey) {
    if (!this.media) return;
    this.media.then((stream) => {
      const off = button.getAttribute("aria-pressed") !== "true";
      stream.getTracks().filter((tr) => tr.kind === kind).forEach((tr) => { tr.enabled = !off; });
      button.setAttribute("aria-pressed", String(off));
      button.textContent = t(off ? offKey : onKey);
    });
  }

  hangup() {
    if (!this.callId) return;
    this.send({ type: "hangup", call_id: this.callId, reason: "ended" });
    this.teardown("call_ended");
  }

  teardown(statusKey) {
    if (this.pc) this.pc.close();
    this.pc = null;
    this.callId = null;
    $("call-customer").hidden = true;
    this.releaseMedia();
    $("remote-video").srcObject = null;
    for (const [id, key] of [["mute", "mute"], ["camera", "camera_off"]]) {
      $(id).setAttribute("aria-pressed", "false");
      $(id).textContent = t(key);
    }
    this.status(statusKey);
    document.dispatchEvent(new CustomEvent("vk-call-ended"));
  }

  status(key) {
    const el = $("call-status");
    el.dataset.state = key;
    el.textContent = t(key);
  }
}
