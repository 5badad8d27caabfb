// The large on-screen keyboard for the appointment code: only the characters a code can have
// (hub/appointments.py leaves out 0/O and 1/I/L, so nobody has to guess which one is meant).
const KEYS = ["23456789", "ABCDEFGH", "JKMNPQRS", "TUVWXYZ"];
const LENGTH = 8;

// "K7M2X9PQ" is shown as "K7M2-X9PQ", as in the invitation e-mail.
export function formatCode(raw) {
  const clean = raw.toUpperCase().replace(/[^0-9A-Z]/g, "").slice(0, LENGTH);
  return clean.length > 4 ? `${clean.slice(0, 4)}-${clean.slice(4)}` : clean;
}

export function buildCodePad(container, input, labels) {
  container.replaceChildren();
  const set = (value) => {
    input.value = formatCode(value);
    input.dispatchEvent(new Event("input", { bubbles: true }));
  };
  for (const row of KEYS) {
    const line = document.createElement("div");
    line.className = "key-row";
    for (const ch of row) line.append(key(ch, ch, () => set(input.value + ch)));
    container.append(line);
  }
  const last = document.createElement("div");
  last.className = "key-row";
  last.append(key("⌫", labels.backspace, () => set(input.value.replace(/-$/, "").slice(0, -1)), "wide"));
  container.append(last);
}

function key(face, name, onPress, extra = "") {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `key code-key ${extra}`.trim();
  button.textContent = face;
  button.setAttribute("aria-label", name);
  button.addEventListener("mousedown", (event) => event.preventDefault());
  button.addEventListener("click", onPress);
  return button;
}
