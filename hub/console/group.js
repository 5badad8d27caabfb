// Further participants of an appointment (interpreter, legal representative, ...) joining a running
// call: each admitted one is a call of its own between the advisor and them, shown next to the
// customer. The participants are linked to each other by the hub (hub/groupcall.py): a full mesh
// of up to four. The first call stays in call.js; this holds the others.
const $ = (id) => document.getElementById(id);

export class Group {
  constructor(send, call) {
    this.send = send;
    this.call = call; // for its camera and microphone, shared by every connection
    this.calls = new Map(); // call id -> { pc, video }
    document.addEventListener("vk-call-ended", () => this.hangupAll());
  }

  has(callId) { return this.calls.has(callId); }

  accepted(callId, iceServers) {
    const servers = iceServers.map(({ urls, username, credential }) =>
      Object.fromEntries(Object.entries({ urls, username, credential }).filter(([, v]) => v != null)));
    const pc = new RTCPeerConnection({ iceServers: servers });
    const video = document.createElement("video");
    Object.assign(video, { autoplay: true, playsInline: true });
    video.dataset.call = callId;
    video.className = "participant-video";
    // data-live once frames show (as on the kiosk page): a hook for styling and for tests.
    video.addEventListener("resize", () => { if (video.videoWidth > 0) video.dataset.live = "true"; });
    $("call").querySelector(".videos").append(video);
    const remote = new MediaStream();
    pc.ontrack = (event) => { remote.addTrack(event.track); video.srcObject = remote; };
    pc.onicecandidate = ({ candidate }) => this.send({
      type: "candidate", call_id: callId, candidate: candidate ? candidate.candidate : "",
      sdp_mid: candidate ? candidate.sdpMid : null, sdp_mline_index: candidate ? candidate.sdpMLineIndex : null,
    });
    this.calls.set(callId, { pc, video });
  }

  async onOffer(msg) {
    const entry = this.calls.get(msg.call_id);
    if (!entry) return;
    await entry.pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
    const stream = await this.call.prepareMedia().catch(() => null);
    if (stream) for (const track of stream.getTracks()) entry.pc.addTrack(track, stream);
    await entry.pc.setLocalDescription(await entry.pc.createAnswer());
    this.send({ type: "answer", call_id: msg.call_id, sdp: entry.pc.localDescription.sdp });
  }

  async onCandidate(msg) {
    const entry = this.calls.get(msg.call_id);
    if (entry && msg.candidate) {
      await entry.pc.addIceCandidate({ candidate: msg.candidate, sdpMid: msg.sdp_mid, sdpMLineIndex: msg.sdp_mline_index });
    }
  }

  onState(msg) {
    if (msg.state === "ended") this.drop(msg.call_id);
  }

  drop(callId) {
    const entry = this.calls.get(callId);
    if (!entry) return;
    entry.pc.close();
    entry.video.srcObject = null;
    entry.video.remove();
    this.calls.delete(callId);
  }

  // "Beenden" ends the whole conversation: every further participant too.
  hangupAll() {
    for (const callId of [...this.calls.keys()]) {
      this.send({ type: "hangup", call_id: callId, reason: "ended" });
      this.drop(callId);
    }
  }
}
