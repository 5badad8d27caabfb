// The on-screen keyboard for name and customer number: the kiosk has no physical keyboard.
// Keys type into whichever of the form's inputs last had focus.
const ROWS = [
  "1234567890",
  "QWERTZUIOPÜ",
  "ASDFGHJKLÖÄ",
  "YXCVBNM-.ß",
];

export function buildKeyboard(container, inputs, labels) {
  let target = inputs[0];
  for (const input of inputs) input.addEventListener("focus", () => { target = input; });
  container.replaceChildren();
  const type = (text) => {
    const max = Number(target.maxLength) > 0 ? Number(target.maxLength) : 80;
    if (target.value.length < max) target.value += text;
    target.dispatchEvent(new Event("input", { bubbles: true }));
  };
  for (const row of ROWS) {
    const line = document.createElement("div");
    line.className = "key-row";
    for (const ch of row) line.append(key(ch, ch, () => type(ch)));
    container.append(line);
  }
  const last = document.createElement("div");
  last.className = "key-row";
  last.append(
    key("␣", labels.space, () => type(" "), "wide"),
    key("⌫", labels.backspace, () => {
      target.value = target.value.slice(0, -1);
      target.dispatchEvent(new Event("input", { bubbles: true }));
    }, "wide"),
  );
  container.append(last);
}

export function key(face, name, onPress, extra = "") {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `key ${extra}`.trim();
  button.textContent = face;
  button.setAttribute("aria-label", name);
  // Keep focus in the text field, so the key types where the customer was typing.
  button.addEventListener("mousedown", (event) => event.preventDefault());
  button.addEventListener("click", onPress);
  return button;
}
