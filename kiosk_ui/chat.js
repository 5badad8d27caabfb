// The chat on the call screen and the advisor's shared screen. Lines come from the daemon
// (appliance/chat.py) or, for a customer at home, from browser_chat.js (the same messages), and
// exist only in this page's DOM until the call ends ("chat_clear") or the page resets. On the
// booth a link is shown as text and as a QR code to scan with a phone; at home (no QR code in the
// line) as text to copy. Nothing here is ever a clickable link; the page never navigates anywhere.
import { key } from "./keyboard.js";
import { format } from "./i18n.js";
import { DEFAULT_LAYOUT, LAYOUTS, PUNCTUATION } from "./chatkeys.js";

const $ = (selector) => document.querySelector(selector);
const SVG = "http://www.w3.org/2000/svg";
export const MAX_CHARS = 500; // rtc/protocol.py CHAT_MAX_CHARS
// http(s) links and bare www. addresses; trailing punctuation belongs to the sentence
// (the same rule as appliance/chat.py find_links, for the home page that has no daemon).
const LINK = /(?:https?:\/\/|www\.)[^\s<>"'{}|\\^`]+/gi;
const MAX_LINKS_PER_LINE = 3;

export function findLinks(text) {
  return Array.from(String(text).matchAll(LINK), (m) => m[0].replace(/[.,;:!?)\]]+$/, ""))
    .filter((link) => link.length > 4).slice(0, MAX_LINKS_PER_LINE);
}

export class ChatPanel {
  constructor(send) {
    this.send = send;
    this.catalog = null;
    this.language = null;
    this.layout = "latin";
    this.shifted = false;
    this.audio = null;
    $("#chat-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("#chat-input").value;
      if (!text.trim()) return;
      this.send({ type: "chat", text: text.slice(0, MAX_CHARS) });
      $("#chat-input").value = "";
    });
    // The customer has seen the cue once they touch the chat. Not on pointerdown: the banner
    // going away moves the form, and the tap would miss the button it was aimed at.
    for (const kind of ["click", "focusin"]) $("#chat").addEventListener(kind, () => { $("#chat-new").hidden = true; });
    // The on-screen keyboard opens on demand (its button, or a tap into the input), else the
    // video keeps the room.
    $("#chat-keys").addEventListener("click", () => this.showKeys($("#chat-keys").getAttribute("aria-expanded") !== "true"));
    $("#chat-input").addEventListener("focus", () => this.showKeys(true));
  }

  showKeys(open) {
    const toggle = $("#chat-keys");
    $("#chat-keys-panel").hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    toggle.dataset.t = open ? "access.keyboard_close" : "access.keyboard";
    toggle.textContent = this.text(toggle.dataset.t);
  }

  // Messages from the daemon; returns false for those that are not the chat's.
  onMessage(message) {
    if (message.type === "chat" && message.line) this.addLine(message.line);
    else if (message.type === "chat_clear") this.clear();
    else if (message.type === "screen_share") this.showScreen(Boolean(message.sharing));
    else if (message.type === "waiting_note") this.showNote(String(message.text || ""));
    else return false;
    return true;
  }

  render(state, catalog) {
    if (catalog !== this.catalog || state.language !== this.language) {
      this.catalog = catalog;
      this.language = state.language;
      this.layout = DEFAULT_LAYOUT[state.language] || "latin";
      this.buildKeyboard();
    }
    if (state.state !== "waiting") this.showNote("");
    if (state.state !== "call") { this.clear(); this.showScreen(false); }
  }

  addLine(line) {
    const li = document.createElement("li");
    li.className = `chat-line from-${line.sender === "advisor" ? "advisor" : "booth"}`;
    const who = document.createElement("span");
    who.className = "chat-who";
    who.dataset.t = line.sender === "advisor" ? "chat.from_advisor" : "chat.from_me";
    who.textContent = this.text(who.dataset.t);
    const text = document.createElement("bdi"); // each line in its own direction (Arabic in German, say)
    text.className = "chat-text";
    text.textContent = line.text;
    li.append(who, text);
    for (const link of line.links || []) li.append(Array.isArray(link.qr) ? this.qrFigure(link) : this.linkFigure(link));
    $("#chat-list").append(li);
    li.scrollIntoView({ block: "end" });
    if (line.sender === "advisor") this.cue();
  }

  // The QR code, drawn from the daemon's module matrix as one SVG path (4 modules of quiet zone).
  qrFigure(link) {
    const figure = document.createElement("figure");
    figure.className = "chat-qr";
    const rows = Array.isArray(link.qr) ? link.qr : [];
    const size = rows.length + 8;
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", format(this.text("chat.qr"), { url: link.url }));
    const background = document.createElementNS(SVG, "rect");
    background.setAttribute("width", size);
    background.setAttribute("height", size);
    background.setAttribute("fill", "#fff");
    const path = document.createElementNS(SVG, "path");
    let d = "";
    rows.forEach((row, y) => {
      for (let x = 0; x < row.length; x += 1) if (row[x] === "1") d += `M${x + 4} ${y + 4}h1v1h-1z`;
    });
    path.setAttribute("d", d);
    path.setAttribute("fill", "#000");
    svg.append(background, path);
    figure.append(svg, this.linkCaption("chat.scan", link.url));
    return figure;
  }

  // At home: the link as plain text the customer can select and copy (never opened from here).
  linkFigure(link) {
    const figure = document.createElement("figure");
    figure.className = "chat-qr chat-link";
    figure.append(this.linkCaption("chat.copy_link", link.url));
    return figure;
  }

  // "<lead> <url>": the url as text in its own direction, never a link.
  linkCaption(leadKey, url) {
    const caption = document.createElement("figcaption");
    const lead = document.createElement("span");
    lead.dataset.t = leadKey;
    lead.textContent = this.text(leadKey);
    const text = document.createElement("bdi");
    text.className = "chat-url";
    text.textContent = String(url);
    caption.append(lead, " ", text);
    return caption;
  }

  // A new message: a visible banner and a short two-tone chime (the page has no microphone, but
  // may play sound; the daemon's speaker carries the advisor's voice, this is just a cue).
  cue() {
    const banner = $("#chat-new");
    banner.hidden = false;
    banner.classList.remove("flash");
    void banner.offsetWidth; // restart the animation
    banner.classList.add("flash");
    try {
      this.audio = this.audio || new AudioContext();
      const ctx = this.audio;
      if (ctx.state === "suspended") ctx.resume();
      for (const [i, freq] of [660, 880].entries()) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        const at = ctx.currentTime + i * 0.18;
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.25, at);
        gain.gain.exponentialRampToValueAtTime(0.001, at + 0.25);
        osc.connect(gain).connect(ctx.destination);
        osc.start(at);
        osc.stop(at + 0.25);
      }
      document.body.dataset.chatChime = String(Number(document.body.dataset.chatChime || 0) + 1);
    } catch {
      // no audio output: the banner is the cue
    }
  }

  showScreen(sharing) {
    const view = $("#call-view");
    const screen = $("#screen-view");
    view.classList.toggle("sharing", sharing);
    screen.hidden = !sharing;
    delete screen.dataset.live;
    if (sharing && screen.requestVideoFrameCallback) {
      // Live once a frame of the shared screen is actually drawn (not an old, frozen one).
      screen.requestVideoFrameCallback(() => { if (!screen.hidden) screen.dataset.live = "true"; });
    }
  }

  showNote(text) {
    const note = $("#waiting-note");
    note.querySelector(".note-text").textContent = text;
    note.hidden = !text;
    if (text) this.cue();
  }

  clear() {
    this.showKeys(false);
    $("#chat-list").replaceChildren();
    $("#chat-input").value = "";
    $("#chat-new").hidden = true;
  }

  text(path) {
    const value = path.split(".").reduce((node, part) => (node == null ? undefined : node[part]), this.catalog);
    return typeof value === "string" ? value : "";
  }

  buildKeyboard() {
    const layout = LAYOUTS[this.layout];
    const input = $("#chat-input");
    const board = $("#chat-keyboard");
    board.dir = layout.dir || "ltr";
    input.dir = "auto";
    const type = (ch) => {
      if (input.value.length >= MAX_CHARS) return;
      input.value += this.shifted && layout.shift ? ch.toLocaleUpperCase(layout.shift) : ch;
      if (this.shifted) { this.shifted = false; this.buildKeyboard(); }
    };
    board.replaceChildren();
    for (const row of layout.rows) {
      const line = document.createElement("div");
      line.className = "key-row";
      for (const ch of row) {
        const face = this.shifted && layout.shift ? ch.toLocaleUpperCase(layout.shift) : ch;
        line.append(key(face, face, () => type(ch)));
      }
      board.append(line);
    }
    const last = document.createElement("div");
    last.className = "key-row";
    if (layout.shift) {
      const shift = key("⇧", this.text("chat.shift"), () => { this.shifted = !this.shifted; this.buildKeyboard(); }, "wide");
      shift.setAttribute("aria-pressed", String(this.shifted));
      last.append(shift);
    }
    for (const ch of PUNCTUATION) last.append(key(ch, ch, () => type(ch)));
    last.append(
      key("␣", this.text("chat.space"), () => type(" "), "wide"),
      key("⌫", this.text("chat.backspace"), () => { input.value = input.value.slice(0, -1); }, "wide"),
    );
    board.append(last);
    const switcher = $("#chat-layouts");
    switcher.replaceChildren(...Object.keys(LAYOUTS).map((name) => {
      const button = key(this.text(`chat.layouts.${name}`), this.text(`chat.layouts.${name}`), () => {
        this.layout = name;
        this.shifted = false;
        this.buildKeyboard();
      });
      button.setAttribute("aria-pressed", String(name === this.layout));
      return button;
    }));
  }
}
