// "Browser mode": the kiosk pages in a customer's own browser, opened by the personal link
// (<hub>/join#<token>). There is no booth daemon here, so this module plays its part: it keeps the
// journey's state by the booth's own journey table (journey.js, generated from appliance/journey.py),
// sends the same snapshots app.js renders, checks the browser's own camera,
// microphone, speaker and connection, and is itself the WebRTC peer of the advisor (via the hub's
// /ws/guest, which speaks the booth protocol, docs/protocol.md). app.js stays as it is: it asks
// window.vkTransport() for its "socket". Nothing is sent before the advisor admits.
// The device check's measurements: browser_checks.js. Chat, the advisor's shared screen and the
// waiting-room note: browser_chat.js; the customer's own mute and camera toggles: browser_controls.js;
// the camera switch (front/back): browser_camera.js.
import { CameraSwitch } from "./browser_camera.js";
import { HomeChat } from "./browser_chat.js";
import { HomeControls } from "./browser_controls.js";
import { CHECKS, checkCamera, checkMicrophone, checkRate, checkSpeaker, download, openDevices, stopAll, upload } from "./browser_checks.js";
import { JOURNEY } from "./journey.js";
import { LANGUAGES } from "./languages.js";

const token = location.hash.slice(1);

const randomId = () => Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join("");

async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return { ok: response.ok, data: await response.json().catch(() => ({})) };
}

// What the journey table's actions do at home; at the booth Session._do_<action> does them. Each
// runs before the move and refuses the event by returning false (then nothing changes). An action
// missing here is one home has no part in (typing a code, speech and the booth's own settings,
// the still-there question, service mode): its events are ignored, as the booth ignores an event its
// table has no row for.
const ACTIONS = {
  set_language: (home, { language }) => {
    if (!LANGUAGES.includes(language)) return false;
    home.language = language;
  },
  open: (home) => Boolean(home.appointment), // the link's appointment, checked on opening
  record_consent: async (home) => { // the consent is recorded before anything else
    const { ok } = await post("/api/join/consent", { session_id: home.sessionId, language: home.language });
    if (!ok) home.emit({ type: "error" });
    home.consented = ok;
    return ok;
  },
  run_checks: (home) => { home.runChecks(); },
  enter_waiting: (home) => {
    if (!home.snapshot().checks.passed) return false;
    home.stopMedia("checkStream"); // camera and microphone off: nothing is sent while waiting
  },
  update_details: (home, data) => {
    home.details = { name: data.name ?? null, customer_number: data.customer_number ?? null };
    home.hub({ type: "waiting_update", session_id: home.sessionId, ...home.details });
  },
  mark_informed: (home) => { home.waiting.advisor_informed = true; },
  update_queue: (home, { position, estimated_wait_s }) => { Object.assign(home.waiting, { position, estimated_wait_s }); },
  declined: (home, { message }) => { home.goodbye = { declined: true, message: message || null }; },
  start_call: (home, { call_id, ice_servers }) => home.startCall(call_id, ice_servers),
  set_muted: (home, { muted }) => {
    if (typeof muted !== "boolean") return false;
    home.controls.muted = muted; // "Stummschalten": the microphone track sends silence
    home.controls.apply(home.callStream);
  },
  hang_up: (home) => {
    home.hub({ type: "hangup", call_id: home.callId, reason: "ended" });
    home.endCall("survey");
  },
  call_over: (home) => home.endCall("survey"),
  store_survey: (home, data) => { home.hub({ type: "survey", rating: data.rating ?? null, easy: data.easy ?? null, again: data.again ?? null }); },
  wipe: (home) => home.stop("cancel"),
  withdraw: (home) => home.stop("withdraw"),
};

// What home does on arriving at a screen (the booth starts its device check the same way).
const ARRIVALS = {
  device_check: (home) => home.runChecks(),
  waiting: (home) => home.connect(),
  goodbye: (home) => home.leave(),
};

class LocalBooth extends EventTarget {
  constructor() {
    super();
    this.readyState = WebSocket.OPEN;
    this.state = "idle";
    this.language = document.documentElement.lang || "de";
    this.sessionId = randomId();
    this.appointment = null;
    this.checks = { running: false, results: {} };
    this.checkRun = 0; // the device check's current run: results of an older one are dropped
    this.waiting = { advisor_informed: false, position: null, estimated_wait_s: null };
    this.details = { name: null, customer_number: null };
    this.refusal = null;
    this.goodbye = { declined: false, message: null };
    this.consented = false;
    this.ws = null;
    this.pc = null;
    this.callId = null;
    this.peers = new Map(); // call id -> peer connection to another participant (group call)
    this.loop = null; // the page's self-view connection (app.js SelfView), answered here
    this.screenVideo = null; // the advisor's shared screen, while sharing
    this.chat = new HomeChat({ emit: (message) => this.emit(message), viaHub: (message) => this.hub(message),
      onScreen: (track) => { this.screenVideo = track; this.showScreen(); } });
    this.controls = new HomeControls((off) => this.intent("set_camera", { off }).catch(() => this.emit({ type: "error" })));
    this.camera = new CameraSwitch(() => this.switchCamera().catch(() => this.emit({ type: "error" })));
    setTimeout(() => this.open(), 0); // after app.js has added its listeners
  }

  // --- the "socket" app.js talks to ---------------------------------------------------------

  send(text) {
    const msg = JSON.parse(text);
    if (msg.type === "intent") this.intent(msg.event, msg.data || {}).catch(() => this.emit({ type: "error" }));
    else if (msg.type === "offer") this.answerSelfView(msg.sdp);
    else if (msg.type === "chat" && !this.chat.send(String(msg.text || ""))) this.emit({ type: "error" });
  }

  emit(message) { this.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(message) })); }

  snapshot() {
    const snap = { state: this.state, language: this.language, languages: LANGUAGES, still_there: null,
      self_view: this.state === "device_check" || this.state === "call" };
    if (this.state === "appointment") snap.appointment = { checking: false, ...this.refusal };
    if (this.state === "device_check") {
      const passed = CHECKS.every((name) => ["pass", "warn"].includes((this.checks.results[name] || {}).status));
      snap.checks = { ...this.checks, passed, order: CHECKS };
    }
    if (this.state === "waiting") {
      snap.waiting = { ...this.waiting, appointment_time: this.appointment && this.appointment.appointment_local,
        appointment_date: this.appointment && this.appointment.appointment_date, details: this.details };
    }
    if (this.state === "call") snap.call = { call_id: this.callId, muted: this.controls.muted, camera_off: this.controls.cameraOff };
    // At home every way out ends on the goodbye screen: it offers the withdrawal only while a
    // consent is on record (not after "Abbrechen" on the consent screen, nor a second time).
    if (this.state === "goodbye") snap.goodbye = { ...this.goodbye, withdrawable: this.consented };
    return snap;
  }

  publish() {
    const snap = this.snapshot();
    this.emit({ type: "state", state: snap });
    this.controls.render(snap);
    this.camera.render(snap);
  }

  // The camera switch: the next camera on every connection that sends ours, the self-view too.
  async switchCamera() {
    if (this.state !== "call") return;
    await this.camera.switch(this.callStream, [this.pc, ...this.peers.values(), this.loop]);
  }

  async open() {
    const { ok, data } = await post("/api/join", { token });
    if (ok) {
      this.appointment = data;
      if (LANGUAGES.includes(data.language)) this.language = data.language;
    } else {
      this.state = "appointment"; // its screen explains: too early (with the time), expired, cancelled ...
      const opens = data.opens_at ? new Date(data.opens_at).toLocaleTimeString("de-DE", { timeZone: "Europe/Berlin", hour: "2-digit", minute: "2-digit" }) : null;
      this.refusal = { error: data.reason || "unknown", opens_at: opens };
    }
    this.publish();
  }

  // --- intents -------------------------------------------------------------------------------

  async intent(event, data) {
    if (event !== "set_camera") return this.step(event, data);
    // The camera toggle is home's own (browser_controls.js): the booth's camera stays on.
    if (this.state !== "call" || typeof data.off !== "boolean") return;
    this.controls.cameraOff = data.off; // the camera track sends black frames
    this.controls.apply(this.callStream);
    this.publish();
  }

  // One event, by the journey table's row for this state: the action (ACTIONS), then the move and
  // what home does on arriving (ARRIVALS). No row, or a row of the booth's alone: ignored.
  async step(event, data) {
    const row = (JOURNEY[this.state] || {})[event];
    if (!row) return;
    const [target, action] = row;
    if (action ? !ACTIONS[action] : target === this.state) return; // booth only, or nothing to do
    const before = this.state;
    if (action && (await ACTIONS[action](this, data)) === false) return;
    // At home there is no next customer: where the booth wipes and goes back to its start screen,
    // the page stays on the goodbye screen.
    this.state = target === "idle" ? "goodbye" : target;
    if (this.state !== before && ARRIVALS[this.state]) ARRIVALS[this.state](this);
    this.publish();
  }

  // false: the withdrawal did not reach the hub's database (its answer was not ok, or there was
  // none): nothing changes, the customer is told and can try again; never the goodbye screen for a
  // consent the hub still holds.
  async stop(reason) {
    if (reason === "withdraw") {
      const { ok } = await post("/api/join/withdraw", { session_id: this.sessionId }).catch(() => ({ ok: false }));
      if (!ok) {
        this.emit({ type: "error" });
        return false;
      }
      this.consented = false; // nothing left to withdraw (and the link's pass is gone with it)
    }
    if (this.state === "waiting") this.hub({ type: "leave_waiting", session_id: this.sessionId, reason });
    if (this.state === "call") this.hub({ type: "hangup", call_id: this.callId, reason: "ended" });
    this.endCall(null);
  }

  leave() {
    this.stopMedia("checkStream");
    this.state = "goodbye";
    if (this.ws) { const ws = this.ws; this.ws = null; setTimeout(() => ws.close(), 500); }
  }

  // --- the device check, with the browser's own devices ------------------------------------

  // A result of the current run only (a recheck starts a new one); a passed row carries no hint.
  report(run, name, { status, hint, kbps }) {
    if (!this.checking(run)) return;
    this.checks.results[name] = { status, hint: status === "pass" ? null : hint, ...(kbps === undefined ? {} : { kbps: Math.round(kbps) }) };
    this.publish();
  }

  checking(run) { return run === this.checkRun && this.state === "device_check"; }

  // Every step ends (browser_checks.js limits each); the rows fill in as they do.
  async runChecks() {
    const run = (this.checkRun || 0) + 1;
    this.checkRun = run;
    this.checks = { running: true, results: {} };
    this.publish();
    this.stopMedia("checkStream");
    const { stream, problems } = await openDevices();
    if (!this.checking(run)) return stopAll(stream);
    this.checkStream = stream;
    this.showSelf();
    this.report(run, "camera", problems.camera ? { status: "fail", hint: problems.camera } : await checkCamera(stream));
    this.report(run, "microphone", problems.microphone ? { status: "warn", hint: problems.microphone }
      : await checkMicrophone(stream, (level) => this.emit({ type: "mic_level", level })));
    this.report(run, "speaker", await checkSpeaker());
    for (const [name, measure] of [["upload", upload], ["download", download]]) this.report(run, name, await checkRate(measure));
    if (!this.checking(run)) return;
    this.rates = { upload_kbps: this.checks.results.upload.kbps, download_kbps: this.checks.results.download.kbps };
    this.checks.running = false;
    this.publish();
  }

  stopMedia(name) {
    if (this[name]) this[name].getTracks().forEach((track) => track.stop());
    this[name] = null;
  }

  // --- waiting room and call: the hub's guest socket --------------------------------------

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/guest`);
    this.ws = ws;
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ type: "hello", session_id: this.sessionId, call_id: this.callId }));
      if (this.state === "waiting") {
        this.hub({ type: "waiting", session_id: this.sessionId, language: this.language, kind: "appointment",
          appointment_at: this.appointment.appointment_at, ...Object.fromEntries(Object.entries(this.details).filter(([, v]) => v)) });
      }
    });
    // One message at a time, in order: a candidate must not overtake the offer it belongs to.
    ws.addEventListener("message", (event) => {
      this.inbox = (this.inbox || Promise.resolve()).then(() => this.fromHub(JSON.parse(event.data))).catch(() => {});
    });
    ws.addEventListener("close", () => {
      if (this.ws === ws && (this.state === "waiting" || this.state === "call")) setTimeout(() => this.reconnect(ws), 1000);
    });
  }

  // The socket is gone (network, hub restart): back in, unless the hub refuses this browser's pass
  // (the appointment is over or cancelled, or the link was replaced): then say so, as on opening.
  async reconnect(ws) {
    if (this.ws !== ws || (this.state !== "waiting" && this.state !== "call")) return;
    const response = await fetch("/api/join/pass", { cache: "no-store" }).catch(() => null);
    if (this.ws !== ws) return;
    if (response && (response.status === 401 || response.status === 410)) {
      const data = await response.json().catch(() => ({}));
      this.endCall(null);
      this.ws = null;
      if (this.consented) {
        // A consent on record: the goodbye screen says why and offers the withdrawal, which the
        // hub takes at any time, with or without an open link (hub/guest.py).
        this.state = "goodbye";
        this.goodbye = { declined: false, message: null, refused: data.reason || "pass_lost" };
      } else {
        this.state = "appointment";
        this.refusal = { error: data.reason || "pass_lost", opens_at: null };
      }
      this.publish();
    } else {
      this.connect();
    }
  }

  hub(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  async fromHub(msg) {
    const peer = this.peers.get(msg.call_id);
    switch (msg.type) {
      case "advisor_informed": case "queue_update": case "declined": return this.step(msg.type, msg);
      case "admitted": // the advisor admits us; in a call, another participant of it (we offer)
        if (this.state !== "call") return this.step("admitted", msg);
        await this.startPeer(msg.call_id, msg.ice_servers, null);
        break;
      case "offer": if (this.state === "call" && msg.call_id !== this.callId) await this.startPeer(msg.call_id, this.iceServers, msg.sdp); return;
      case "answer":
        if (msg.call_id === this.callId && this.pc) await this.pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
        else if (peer) await peer.setRemoteDescription({ type: "answer", sdp: msg.sdp });
        return;
      case "candidate": {
        const pc = msg.call_id === this.callId ? this.pc : peer;
        if (pc && msg.candidate) await pc.addIceCandidate({ candidate: msg.candidate, sdpMid: msg.sdp_mid, sdpMLineIndex: msg.sdp_mline_index });
        return;
      }
      case "chat": case "screen_share": this.chat.receive(msg); return; // the hub's fallback path
      case "waiting_note": this.chat.note(msg, this.sessionId, this.state); return;
      case "restart_call": if (this.state === "call" && msg.call_id === this.callId && this.callStream) await this.offerCall(); return;
      // Back on the hub after a lost socket (a phone that locked its screen): offer afresh, as
      // the booth does on rejoining; the advisor's end of the old connection may be dead.
      case "welcome": if (this.state === "call" && this.callStream) await this.offerCall(); return;
      case "call_ended":
        if (msg.call_id === this.callId) return this.step("call_ended", msg);
        if (peer) this.endPeer(msg.call_id);
        break;
      default: return;
    }
    this.publish();
  }

  connection(callId, iceServers, onTrack) {
    const servers = (iceServers || []).map(({ urls, username, credential }) =>
      Object.fromEntries(Object.entries({ urls, username, credential }).filter(([, v]) => v != null)));
    const pc = new RTCPeerConnection({ iceServers: servers });
    for (const track of this.callStream.getTracks()) pc.addTrack(track, this.callStream);
    // A device the customer lacks still receives: without a microphone they hear the advisor.
    for (const kind of ["audio", "video"]) {
      if (!this.callStream.getTracks().some((track) => track.kind === kind)) pc.addTransceiver(kind, { direction: "recvonly" });
    }
    pc.ontrack = onTrack;
    pc.onicecandidate = ({ candidate }) => this.hub({ type: "candidate", call_id: callId,
      candidate: candidate ? candidate.candidate : "", sdp_mid: candidate ? candidate.sdpMid : null,
      sdp_mline_index: candidate ? candidate.sdpMLineIndex : null });
    return pc;
  }

  // Another participant of the same appointment (interpreter, ...): its own connection and video.
  async startPeer(callId, iceServers, offerSdp) {
    const video = document.createElement("video");
    Object.assign(video, { autoplay: true, playsInline: true });
    video.dataset.peer = callId;
    video.addEventListener("resize", () => { if (video.videoWidth > 0) video.dataset.live = "true"; });
    document.querySelector(".call-view").append(video);
    const remote = new MediaStream();
    const pc = this.connection(callId, iceServers, (event) => { remote.addTrack(event.track); video.srcObject = remote; });
    this.peers.set(callId, pc);
    if (offerSdp) {
      await pc.setRemoteDescription({ type: "offer", sdp: offerSdp });
      await pc.setLocalDescription(await pc.createAnswer());
      this.hub({ type: "answer", call_id: callId, sdp: pc.localDescription.sdp });
    } else {
      await pc.setLocalDescription(await pc.createOffer());
      this.hub({ type: "offer", call_id: callId, sdp: pc.localDescription.sdp });
    }
  }

  endPeer(callId) {
    const pc = this.peers.get(callId);
    if (pc) pc.close();
    this.peers.delete(callId);
    const video = document.querySelector(`video[data-peer="${callId}"]`);
    if (video) { video.srcObject = null; video.remove(); }
  }

  async startCall(callId, iceServers) {
    this.callId = callId;
    this.iceServers = iceServers;
    this.state = "call";
    this.controls.reset();
    this.publish();
    this.callStream = (await openDevices()).stream; // what the check found: without a microphone, camera only
    this.controls.apply(this.callStream);
    await this.offerCall();
    this.showSelf();
  }

  // A peer connection to the advisor, and our offer. Again after "restart_call" (the advisor's
  // console came back after losing its connection): same call, same tracks, same chat transcript.
  async offerCall() {
    const callId = this.callId;
    if (this.pc) { this.pc.close(); this.chat.detach(); }
    const pc = this.connection(callId, this.iceServers, (event) => {
      if (this.chat.claims(event)) return; // the advisor's screen slot: shown only while sharing
      if (event.track.kind === "video") { this.remoteVideo = event.track; this.showRemote(); }
      if (event.track.kind === "audio") {
        this.speaker = this.speaker || new Audio();
        this.speaker.srcObject = new MediaStream([event.track]);
        this.speaker.play().catch(() => {});
      }
    });
    this.pc = pc;
    this.chat.attach(pc, callId); // the chat channel and the screen slot, before the offer
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") this.hub({ type: "call_info", call_id: callId, ...this.rates });
      // The media path died but the hub is there (the phone slept past ICE's patience): again.
      if (pc.connectionState === "failed" && this.pc === pc && this.ws && this.ws.readyState === WebSocket.OPEN) this.offerCall();
    };
    await pc.setLocalDescription(await pc.createOffer());
    this.hub({ type: "offer", call_id: callId, sdp: pc.localDescription.sdp });
  }

  endCall(next) {
    for (const callId of [...this.peers.keys()]) this.endPeer(callId);
    if (this.pc) this.pc.close();
    this.pc = null;
    this.chat.end(); // the transcript and the shared screen are gone with the call
    this.remoteVideo = null;
    this.stopMedia("callStream");
    if (this.speaker) this.speaker.srcObject = null;
    if (next) { this.state = next; this.callId = null; }
  }

  // --- the self-view: app.js offers two receive-only videos; we answer with ours ------------

  async answerSelfView(sdp) {
    if (this.loop) this.loop.close();
    const loop = new RTCPeerConnection();
    this.loop = loop;
    await loop.setRemoteDescription({ type: "offer", sdp });
    for (const transceiver of loop.getTransceivers()) transceiver.direction = "sendonly";
    this.showSelf();
    this.showRemote();
    this.showScreen();
    await loop.setLocalDescription(await loop.createAnswer());
    if (loop.iceGatheringState !== "complete") {
      await new Promise((resolve) => {
        loop.addEventListener("icegatheringstatechange", () => { if (loop.iceGatheringState === "complete") resolve(); });
        setTimeout(resolve, 2000);
      });
    }
    if (this.loop === loop) this.emit({ type: "answer", sdp: loop.localDescription.sdp });
  }

  // The loop may be between its offer and its transceivers (answerSelfView awaits the offer): then
  // there is no slot yet, and answerSelfView shows the tracks itself once there is. Never throw
  // here: the device check calls this in the middle of its run.
  showSelf() {
    const stream = this.callStream || this.checkStream;
    const track = stream && stream.getVideoTracks()[0];
    const slot = this.loop && this.loop.getTransceivers()[0];
    if (slot && track) slot.sender.replaceTrack(track).catch(() => {});
  }

  showRemote() {
    const slot = this.loop && this.loop.getTransceivers()[1];
    if (slot && this.remoteVideo) slot.sender.replaceTrack(this.remoteVideo).catch(() => {});
  }

  // The page's third video (chat.js shows it large while sharing), as the booth's loopback does.
  showScreen() {
    const slot = this.loop && this.loop.getTransceivers()[2];
    if (slot) slot.sender.replaceTrack(this.screenVideo).catch(() => {});
  }
}

document.documentElement.classList.add("browser-mode");
// The booth has no keyboard of its own ("inputmode=none" keeps one from popping up); at home a
// phone's own keyboard is the one to type on.
for (const input of document.querySelectorAll("input[inputmode=none]")) input.inputMode = "text";
window.vkTransport = () => window.vkLocalBooth || (window.vkLocalBooth = new LocalBooth());
