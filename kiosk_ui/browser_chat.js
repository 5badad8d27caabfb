// Chat, the advisor's shared screen and the waiting-room note for a customer at home
// (browser.js). On a booth the daemon does this (appliance/chat.py, rtc/chat.py,
// rtc/screenshare.py) and the page only shows it (chat.js); here the browser is the peer, so this
// module plays the daemon's part and hands the page the very same messages: "chat" {line},
// "chat_clear", "screen_share" {sharing}, "waiting_note" {text}. The protocol is the booth's
// (docs/protocol.md): a data channel "chat" with negotiated id 7 on the call's connection, the
// hub's socket only while it is not open; one extra receive-only video transceiver for the
// advisor's screen, switched by "screen_share". Lines live in memory only, until the call ends.
import { findLinks, MAX_CHARS } from "./chat.js";

export const CHANNEL_ID = 7; // rtc/protocol.py CHAT_CHANNEL_ID
const NOTE_MAX_CHARS = 200; // rtc/protocol.py WaitingNote
const ID = /^[A-Za-z0-9_-]{4,64}$/;
const SEEN_LIMIT = 1000; // line ids remembered per call: a line relayed twice shows once

const randomId = () => "m-" + Array.from(crypto.getRandomValues(new Uint8Array(9)), (b) => b.toString(16).padStart(2, "0")).join("");
const goodText = (text, max) => typeof text === "string" && text.trim() !== "" && text.length <= max;

export class HomeChat {
  // emit: a message to the page (as the daemon's UI socket would); viaHub: a message to the hub;
  // onScreen: the advisor's shared screen track while sharing, null otherwise.
  constructor({ emit, viaHub, onScreen }) {
    this.emit = emit;
    this.viaHub = viaHub;
    this.onScreen = onScreen;
    this.callId = null;
    this.channel = null;
    this.screenSlot = null;
    this.sharing = false;
    this.seen = new Set();
    // At home the customer has a keyboard of their own (a phone's too): let it open.
    const input = document.getElementById("chat-input");
    if (input) input.setAttribute("inputmode", "text");
  }

  // A new peer connection for the call, before the offer (a rejoin of the same call keeps the lines).
  attach(pc, callId) {
    if (callId !== this.callId) this.end();
    this.callId = callId;
    const channel = pc.createDataChannel("chat", { negotiated: true, id: CHANNEL_ID });
    this.channel = channel;
    channel.addEventListener("message", (event) => {
      if (channel !== this.channel || typeof event.data !== "string" || event.data.length > 4096) return;
      try { this.receive(JSON.parse(event.data)); } catch { /* a bad message is dropped, as on the booth */ }
    });
    // The advisor's screen: answered send-only by the console, switched with replaceTrack.
    this.screenSlot = pc.addTransceiver("video", { direction: "recvonly" });
    this.showScreen();
  }

  // True for the shared screen's track (the call's "track" handler leaves it to us).
  claims(event) {
    return Boolean(this.screenSlot) && event.transceiver === this.screenSlot;
  }

  get direct() { return Boolean(this.channel) && this.channel.readyState === "open"; }

  // The customer's line, from the page; false if there is no call to send it in.
  send(text) {
    if (!this.callId || !goodText(text, MAX_CHARS)) return false;
    const msg = { type: "chat", call_id: this.callId, id: randomId(), sender: "booth", text };
    this.add(msg);
    if (this.direct) this.channel.send(JSON.stringify(msg));
    else this.viaHub(msg);
    return true;
  }

  // From the data channel or the hub: the advisor's lines and share flag, for this call only.
  receive(msg) {
    if (!msg || typeof msg !== "object" || !this.callId || msg.call_id !== this.callId) return;
    if (msg.type === "chat" && msg.sender === "advisor" && goodText(msg.text, MAX_CHARS) && ID.test(String(msg.id))) {
      this.add(msg);
    } else if (msg.type === "screen_share" && typeof msg.sharing === "boolean" && msg.sharing !== this.sharing) {
      this.sharing = msg.sharing;
      this.showScreen();
      this.emit({ type: "screen_share", sharing: this.sharing });
    }
  }

  // The advisor's short note to this customer while still waiting.
  note(msg, sessionId, state) {
    if (msg.session_id === sessionId && state === "waiting" && goodText(msg.text, NOTE_MAX_CHARS)) {
      this.emit({ type: "waiting_note", text: msg.text });
    }
  }

  add(msg) {
    if (this.seen.has(msg.id)) return;
    if (this.seen.size >= SEEN_LIMIT) this.seen.clear();
    this.seen.add(msg.id);
    // A link at home: plain text to copy (no QR code: the customer is already on their own device).
    const links = msg.sender === "advisor" ? findLinks(msg.text).map((url) => ({ url })) : [];
    this.emit({ type: "chat", line: { id: msg.id, sender: msg.sender, text: msg.text, links } });
  }

  showScreen() {
    const track = this.sharing && this.screenSlot ? this.screenSlot.receiver.track : null;
    this.onScreen(track);
  }

  // The connection is going away (maybe to be rebuilt for the same call): the hub meanwhile.
  detach() {
    this.channel = null;
    this.screenSlot = null;
    this.showScreen();
  }

  // The call is over: every line, the share state and the page's transcript are gone.
  end() {
    const hadCall = this.callId !== null;
    this.channel = null;
    this.screenSlot = null;
    this.callId = null;
    this.seen = new Set();
    if (this.sharing) {
      this.sharing = false;
      this.emit({ type: "screen_share", sharing: false });
    }
    this.showScreen();
    if (hadCall) this.emit({ type: "chat_clear" });
  }
}
