// The page's only peer connection: to its own daemon on 127.0.0.1. It receives video only (the
// self-view from the booth camera, and the advisor during a call); it never asks for a camera
// or microphone (the kiosk browser has no such permission) and sends nothing.
const RESTART_AFTER_MS = 5000; // a "disconnected" in-page link that has not healed by then is restarted

export class SelfView {
  constructor(send, selfVideos, remoteVideo, screenVideo = null, peerVideos = []) {
    this.send = send;
    this.selfVideos = selfVideos;
    this.remoteVideo = remoteVideo;
    this.screenVideo = screenVideo; // the advisor's shared screen, on a third transceiver
    this.peerVideos = peerVideos; // a group call's further participants, on the fourth and after
    this.pc = null;
    // data-live="true" once real frames show: a hook for tests and for the page's own styling.
    for (const video of [...selfVideos, remoteVideo, ...peerVideos]) {
      video.addEventListener("resize", () => { if (video.videoWidth > 0) video.dataset.live = "true"; });
    }
  }

  get active() { return this.pc !== null; }

  async start() {
    if (this.pc) return;
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("video", { direction: "recvonly" });
    // The daemon counts transceivers (rtc/loopback.py): the screen's third comes before the peers'.
    if (this.screenVideo || this.peerVideos.length) pc.addTransceiver("video", { direction: "recvonly" });
    for (let i = 0; i < this.peerVideos.length; i += 1) pc.addTransceiver("video", { direction: "recvonly" });
    // A page frozen for a while (a phone's screen locked, a stalled tab) loses even this link
    // inside the page: its ICE consent runs out. The videos must come back with the call, so the
    // link starts anew; a short "disconnected" is given a few seconds to heal by itself first.
    let healing = null;
    pc.addEventListener("connectionstatechange", () => {
      if (this.pc !== pc) return;
      clearTimeout(healing);
      if (pc.connectionState === "failed") this.restart();
      else if (pc.connectionState === "disconnected") healing = setTimeout(() => this.restart(), RESTART_AFTER_MS);
    });
    pc.addEventListener("track", (event) => {
      const stream = new MediaStream([event.track]);
      const mid = event.transceiver ? event.transceiver.mid : null;
      const index = pc.getTransceivers().findIndex((transceiver) => transceiver.mid === mid);
      if (index === 0) {
        for (const video of this.selfVideos) video.srcObject = stream;
      } else if (index === 2) {
        if (this.screenVideo) this.screenVideo.srcObject = stream;
      } else if (index >= 3) {
        this.peerVideos[index - 3].srcObject = stream;
      } else {
        this.remoteVideo.srcObject = stream;
      }
    });
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIce(pc);
    if (this.pc !== pc) return;
    this.send({ type: "offer", sdp: pc.localDescription.sdp });
  }

  restart() {
    this.stop();
    this.start().catch(() => this.stop());
  }

  async answer(sdp) {
    // An answer to a link that was closed or restarted since its offer (the screen changed, or
    // the link healed itself) belongs to no offer of ours: it is dropped, not an error to show.
    if (!this.pc || this.pc.signalingState !== "have-local-offer") return;
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  stop() {
    if (this.pc) this.pc.close();
    this.pc = null;
    for (const video of [...this.selfVideos, this.remoteVideo, this.screenVideo, ...this.peerVideos].filter(Boolean)) {
      video.srcObject = null;
      delete video.dataset.live;
    }
  }
}

function waitForIce(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === "complete") {
        pc.removeEventListener("icegatheringstatechange", done);
        resolve();
      }
    };
    pc.addEventListener("icegatheringstatechange", done);
    // Loopback needs no more than host candidates; don't wait for slow interfaces forever.
    setTimeout(resolve, 2000);
  });
}
