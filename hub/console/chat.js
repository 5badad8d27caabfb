// The advisor's chat with the customer: over the call's WebRTC data channel (both ends create it
// with the same negotiated id, so it does not matter that the booth offers), through the hub only
// while that channel is not open. Lines live in this page's DOM during the call and are removed
// when it ends; nothing is stored. Also: a short note to a customer still waiting.
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
export const CHANNEL_ID = 7; // rtc/protocol.py CHAT_CHANNEL_ID
const MAX_CHARS = 500; // rtc/protocol.py CHAT_MAX_CHARS

const randomId = () => "m-" + Array.from(crypto.getRandomValues(new Uint8Array(9)), (b) => b.toString(16).padStart(2, "0")).join("");

export class Chat {
  constructor(send) {
    this.send = send;
    this.callId = null;
    this.channel = null;
    this.seen = new Set();
    document.addEventListener("vk-peer", (event) => this.attach(event.detail.pc, event.detail.callId));
    document.addEventListener("vk-call-ended", () => this.clear());
    $("chat-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("chat-input").value;
      if (text.trim() && this.sendLine(text)) $("chat-input").value = "";
    });
    $("chat-input").addEventListener("focus", () => { $("chat-new").hidden = true; }); // cue seen
    // The note to a waiting customer: a control in each waiting-room row (index.html template).
    $("waiting-list").addEventListener("click", (event) => {
      const button = event.target.closest(".note-send");
      if (!button) return;
      const row = button.closest("tr");
      const input = row.querySelector(".note-text");
      const text = input.value.trim().slice(0, 200);
      if (!text) return;
      this.send({ type: "waiting_note", session_id: row.dataset.sessionId, text });
      input.value = "";
      row.querySelector(".note-sent").textContent = t("note_sent");
    });
  }

  attach(pc, callId) {
    if (callId !== this.callId) this.clear();
    this.callId = callId;
    const channel = pc.createDataChannel("chat", { negotiated: true, id: CHANNEL_ID });
    this.channel = channel;
    channel.addEventListener("message", (event) => {
      if (channel !== this.channel || typeof event.data !== "string" || event.data.length > 4096) return;
      let msg;
      try { msg = JSON.parse(event.data); } catch { return; }
      this.receive(msg);
    });
    $("chat").hidden = false;
  }

  // Chat lines and the screen-share flag go the same way: peer to peer if possible.
  deliver(msg) {
    if (this.channel && this.channel.readyState === "open") this.channel.send(JSON.stringify(msg));
    else this.send(msg);
  }

  sendLine(text) {
    if (!this.callId) return false;
    if (text.length > MAX_CHARS) { $("chat-error").textContent = t("chat_too_long", { max: MAX_CHARS }); return false; }
    $("chat-error").textContent = "";
    const msg = { type: "chat", call_id: this.callId, id: randomId(), sender: "advisor", text };
    this.seen.add(msg.id);
    this.deliver(msg);
    this.show(msg);
    return true;
  }

  // From the hub (the fallback) or the data channel: the booth's lines only, for this call only.
  receive(msg) {
    if (!msg || msg.type !== "chat" || msg.call_id !== this.callId || msg.sender !== "booth") return;
    if (typeof msg.text !== "string" || !msg.text.trim() || msg.text.length > MAX_CHARS || typeof msg.id !== "string") return;
    if (this.seen.has(msg.id)) return;
    this.seen.add(msg.id);
    this.show(msg);
    $("chat-new").hidden = false;
    document.dispatchEvent(new CustomEvent("vk-chat-line"));
  }

  show(msg) {
    const li = document.createElement("li");
    li.className = `chat-line from-${msg.sender}`;
    const who = document.createElement("span");
    who.className = "chat-who";
    who.textContent = t(msg.sender === "advisor" ? "chat_from_me" : "chat_from_customer");
    const text = document.createElement("bdi"); // Arabic and German side by side, each in its own direction
    text.className = "chat-text";
    text.textContent = msg.text; // text only: links are never made clickable here either
    li.append(who, text);
    $("chat-list").append(li);
    li.scrollIntoView({ block: "nearest" });
  }

  clear() {
    this.callId = null;
    this.channel = null;
    this.seen = new Set();
    $("chat-list").replaceChildren();
    $("chat-input").value = "";
    $("chat-error").textContent = "";
    $("chat-new").hidden = true;
    $("chat").hidden = true;
  }
}
