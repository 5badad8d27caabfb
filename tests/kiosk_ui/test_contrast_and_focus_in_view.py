"""What an accessibility audit (EN 301 549 chapter 9 / WCAG 2.1 AA, 2.2 where docs/accessibility.md
claims it) found that the other kiosk tests did not look at: the "Neue Nachricht" banner in
"Kontrast", the call's signal bars against any picture, and a focused control under the sticky
button row. Each failed on the code before its fix. Real Chromium, the booth's own page; where a
whole daemon is not needed the page's socket is the stand-in of test_chat_send.py."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.appliance.helpers import CannedChecks

from .test_accessibility import CONTRAST_JS
from .test_chat_send import stand_in
from .test_journey import texts

pytestmark = pytest.mark.browser
DE = texts("de")

def call_page(kiosk_context, booth, access: dict) -> Page:
    page = kiosk_context.new_page()
    page.add_init_script(stand_in(access))
    page.goto(booth.url)
    expect(page.locator('[data-screen="call"]')).to_be_visible()
    return page


# --- 1.4.3 Contrast (minimum): the "new message" banner in "Kontrast" ------------------------------

def test_new_message_banner_is_readable_in_high_contrast(kiosk_context, start_booth):
    """access.css promises 7:1 for every pair in "Kontrast"; the chat's "Neue Nachricht" banner
    (chat.css: background var(--focus), colour var(--ink)) turned white on cyan there (1.5:1)."""
    booth = start_booth()
    page = call_page(kiosk_context, booth, {"contrast": True})
    expect(page.locator("html.contrast")).to_be_attached()
    page.evaluate("() => window.vkDaemon.emit({ type: 'chat', line: { sender: 'advisor', text: 'Guten Tag', links: [] } })")
    banner = page.locator("#chat-new")
    expect(banner).to_have_text(DE["chat"]["new"])
    # Once the three flashes are over: the banner's steady colours.
    page.wait_for_function("() => document.getElementById('chat-new').getAnimations().length === 0", timeout=10_000)
    ratio = page.evaluate("""() => {""" + CONTRAST_JS + """
      const st = getComputedStyle(document.getElementById('chat-new'));
      return ratio(rgba(st.color), rgba(st.backgroundColor));
    }""")
    assert ratio >= 4.5, f"'Neue Nachricht' in high contrast: {ratio:.2f}:1"


# --- 1.4.11 Non-text contrast: the call's signal bars ---------------------------------------------

def test_a_lit_signal_bar_stands_out_from_an_unlit_one(kiosk_context, start_booth):
    """The grade is told by how many bars are lit. "poor" lights one red bar beside two unlit ones;
    lit and unlit must differ by 3:1 whatever the advisor's video behind them (black or white)."""
    booth = start_booth()
    page = call_page(kiosk_context, booth, {})
    page.evaluate("() => window.vkDaemon.emit({ type: 'quality', grade: 'poor' })")
    expect(page.locator("#signal")).to_have_attribute("data-grade", "poor")
    found = page.evaluate("""() => {""" + CONTRAST_JS + """
      const signal = document.getElementById('signal');
      const [lit, unlit] = [...signal.querySelectorAll('span')].slice(0, 2).map((s) => rgba(getComputedStyle(s).backgroundColor));
      const box = rgba(getComputedStyle(signal).backgroundColor);
      const out = {};
      for (const [name, video] of [['black video', [0, 0, 0]], ['white video', [255, 255, 255]]]) {
        const behind = over(box, video);
        out[name] = ratio(over(lit, behind), over(unlit, behind));
      }
      return out;
    }""")
    low = {where: round(r, 2) for where, r in found.items() if r < 3}
    assert not low, f"lit vs unlit signal bar (grade poor): {low}"


# --- focus not obscured (2.4.11), and target sizes on the screens the other tests skip ---------

# The focused element: is any of its visible area not covered by something else (sampled on a grid)?
OBSCURED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) return null;
  let seen = 0, total = 0, by = null;
  for (let i = 1; i < 6; i += 1) for (let j = 1; j < 6; j += 1) {
    const x = r.left + (r.width * i) / 6, y = r.top + (r.height * j) / 6;
    if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) { total += 1; continue; }
    total += 1;
    const hit = document.elementFromPoint(x, y);
    if (hit && (el.contains(hit) || hit.contains(el) || (el.labels && [...el.labels].some((l) => l.contains(hit))))) seen += 1;
    else if (hit) by = (hit.closest('.actions, .overlay') || hit).className || hit.tagName;
  }
  return { name: (el.getAttribute('aria-label') || el.textContent || el.id || el.tagName).trim().slice(0, 40) + (by ? ` (under .${by})` : ''), seen, total };
}"""

TARGETS = """() => [...document.querySelectorAll('button, .choice span, summary, input, [tabindex="0"]')]
  .filter((b) => b.checkVisibility() && !b.closest('[hidden]') && !(b.tagName === 'INPUT' && b.type === 'radio'))
  .map((b) => { const r = b.getBoundingClientRect(); return { name: (b.getAttribute('aria-label') || b.textContent || b.id).trim().slice(0, 30), w: Math.round(r.width), h: Math.round(r.height) }; })
  .filter((b) => b.w < 24 || b.h < 24)"""


def tab_through(page: Page, limit: int = 120) -> list[str]:
    """Tab through the screen from its heading; the focused controls nothing shows at all."""
    hidden = []
    first = None
    for _ in range(limit):
        page.keyboard.press("Tab")
        found = page.evaluate(OBSCURED)
        if found is None:
            continue
        if found["name"] == first:
            break
        first = first or found["name"]
        if found["seen"] == 0:
            hidden.append(found["name"])
    return hidden


def test_a_focused_control_is_never_hidden_under_the_sticky_button_bar(kiosk_context, start_booth):
    """Tabbing through the waiting room's details form and the appointment code pad at 1280x800:
    Chromium scrolled the focused control just into view, right under the sticky .actions bar
    (style.css), which covered it whole (WCAG 2.2 2.4.11, and its focus ring: 2.4.7)."""
    from .screens import WALK_LIMITS, screens

    booth = start_booth(WALK_LIMITS, checks=CannedChecks("pass"))
    page = kiosk_context.new_page()
    problems = []
    for name in screens(booth, page, "de"):
        if name in ("appointment", "waiting"):
            problems += [f"{name}: {h!r} has focus and is covered whole" for h in tab_through(page)]
        if name == "waiting":
            break
    assert not problems, "\n".join(problems)


def test_no_target_is_below_24_px_on_any_screen(kiosk_context, start_booth):
    """Every visible control is at least 24 px both ways (WCAG 2.2 2.5.8; the design aims at 48)."""
    from .screens import WALK_LIMITS, screens

    booth = start_booth(WALK_LIMITS, checks=CannedChecks("pass"))
    page = kiosk_context.new_page()
    problems = []
    for name in screens(booth, page, "de", large_text=False):
        problems += [f"{name}: target {t}" for t in page.evaluate(TARGETS)]
    assert not problems, "\n".join(problems)
