"""A customer joining from home has what a booth customer has (issue 6, with issue 9's chat and
screen sharing): the advisor's note in the waiting room; in the call chat both ways over the
negotiated data channel and, with it closed, through the hub; a link as text to copy, never
opened; "Stummschalten" silences the customer for the advisor; "Kamera ausschalten" turns their
picture black; the advisor's shared screen shows large; after the call the page keeps nothing.
Real Chromium for both, a real hub on 127.0.0.1."""

from __future__ import annotations

import logging

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_booth_controls import KEEP_PEERS, hears_booth
from tests.e2e.test_chat import ARABIC, GERMAN, LINK, LINK_LINE, NOTE, advisor_says, stored_anywhere, type_on_keyboard

from .test_appointments_browser import T, book, home_context, hub, join_from_home  # noqa: F401 (fixtures)
from .test_console import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CALL_T = 30_000

# Keeps the console's chat channels, so the test knows when the advisor's end has closed too.
KEEP_CHANNELS = """(() => {
  const native = RTCPeerConnection.prototype.createDataChannel;
  window.__channels = [];
  RTCPeerConnection.prototype.createDataChannel = function (...args) {
    const channel = native.apply(this, args);
    window.__channels.push(channel);
    return channel;
  };
})()"""

# True once the customer's picture, as the advisor's console renders it, is black (camera off) or
# shows something (its brightest pixel, sampled small).
PICTURE = """(black) => {
  const video = document.getElementById('remote-video');
  if (!video.videoWidth) return false;
  const canvas = document.createElement('canvas');
  canvas.width = 64; canvas.height = 48;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(video, 0, 0, 64, 48);
  const brightest = Math.max(...ctx.getImageData(0, 0, 64, 48).data.filter((_, i) => i % 4 !== 3));
  return black ? brightest < 24 : brightest > 60;
}"""


def picture(advisor: Page, black: bool) -> None:
    """Wait until the advisor sees the customer's camera black (turned off) or showing something."""
    advisor.wait_for_function(PICTURE, arg=black, timeout=CALL_T)


def test_home_customer_gets_the_note_chats_mutes_turns_the_camera_off_and_sees_the_shared_screen(
        hub, home_context, advisor_context, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)  # not even debug logging may carry a line of the chat
    url, parts, _ = hub
    _, [customer] = book(parts, 10, name="Erika Mustermann")
    advisor = advisor_context.new_page()
    advisor.add_init_script(KEEP_PEERS)  # to read what the advisor's Chromium receives
    advisor.add_init_script(KEEP_CHANNELS)
    log_in(advisor, url)
    home = join_from_home(home_context, url, customer.token)

    # The waiting room: the advisor's short note reaches the customer at home
    row = advisor.locator("#waiting-list tr")
    row.locator("summary", has_text="Nachricht").click(timeout=T)
    row.get_by_label("Kurze Nachricht an die wartende Person").fill(NOTE)
    row.get_by_role("button", name="Nachricht senden").click()
    note = home.locator("#waiting-note")
    expect(note).to_contain_text("Nachricht von Ihrer Beratung:", timeout=T)
    expect(note).to_contain_text(NOTE)
    expect(home.locator("body")).to_have_attribute("data-chat-chime", "1")  # the cue, as on the booth

    row.get_by_role("button", name="Eintreten lassen").click()
    expect(home.locator("#remote-view[data-live=true]")).to_be_visible(timeout=CALL_T)
    expect(note).to_be_hidden()
    home.wait_for_function("() => window.vkLocalBooth.chat.direct", timeout=CALL_T)  # peer to peer

    # Chat both ways over the data channel (the customer on their own keyboard and on the page's)
    advisor_says(advisor, GERMAN)
    expect(home.locator("#chat-list li").filter(has_text=GERMAN)).to_contain_text("Beratung:", timeout=T)
    expect(home.locator("#chat-new")).to_be_visible()
    home.locator("#chat-input").fill("Guten Tag, ich höre Sie gut.")
    home.locator("#chat-form").get_by_role("button", name="Senden").click()
    expect(advisor.locator("#chat-list li").filter(has_text="ich höre Sie gut")).to_contain_text("Kunde/Kundin:", timeout=T)
    expect(home.locator("#chat-list li").filter(has_text="ich höre Sie gut")).to_contain_text("Sie:")
    type_on_keyboard(home, "عربي", ["ش", "ك", "ر", "ا"])
    home.locator("#chat-form").get_by_role("button", name="Senden").click()
    expect(advisor.locator("#chat-list li").filter(has_text="شكرا")).to_be_visible(timeout=T)

    # A link: plain text the customer can copy; never a link the page could open
    advisor_says(advisor, LINK_LINE)
    expect(home.locator("#chat-list figure.chat-link")).to_contain_text(f"Link zum Kopieren: {LINK}", timeout=T)
    assert home.locator("#chat a, #chat [href], #chat svg").count() == 0
    assert home.url.startswith(f"{url}/join") and len(home_context.pages) == 1

    # With the data channel closed, lines go through the hub (the fallback), both ways
    home.evaluate("window.vkLocalBooth.chat.channel.close()")
    home.wait_for_function("() => !window.vkLocalBooth.chat.direct", timeout=T)
    advisor.wait_for_function("() => window.__channels.every((channel) => channel.readyState === 'closed')", timeout=T)
    advisor_says(advisor, ARABIC)
    expect(home.locator("#chat-list li").filter(has_text=ARABIC)).to_be_visible(timeout=T)
    home.locator("#chat-input").fill("Über den Hub angekommen?")
    home.locator("#chat-form").get_by_role("button", name="Senden").click()
    expect(advisor.locator("#chat-list li").filter(has_text="Über den Hub angekommen?")).to_be_visible(timeout=T)
    expect(home.locator("#chat-list li")).to_have_count(6)  # each line once

    # "Stummschalten" and "Kamera ausschalten": the advisor hears silence / sees black, then the
    # customer again (each toggle's label says what a tap will do, aria-pressed what is now)
    hears_booth(advisor, loud=True)
    picture(advisor, black=False)
    for press, then, pressed, check in [
            ("Stummschalten", "Stummschaltung aufheben", "true", lambda: hears_booth(advisor, loud=False)),
            ("Stummschaltung aufheben", "Stummschalten", "false", lambda: hears_booth(advisor, loud=True)),
            ("Kamera ausschalten", "Kamera einschalten", "true", lambda: picture(advisor, black=True)),
            ("Kamera einschalten", "Kamera ausschalten", "false", lambda: picture(advisor, black=False))]:
        home.get_by_role("button", name=press).click()
        expect(home.get_by_role("button", name=then)).to_have_attribute("aria-pressed", pressed)
        check()
    expect(home.locator("#camera-switch")).to_be_hidden()  # one camera: nothing to switch to

    # The advisor shares a screen: large on the customer's page, and gone again when stopped
    screen = home.locator("#screen-view")
    expect(screen).to_be_hidden()
    advisor.get_by_role("button", name="Bildschirm teilen").click()
    expect(advisor.get_by_text("Sie teilen Ihren Bildschirm")).to_be_visible(timeout=T)
    expect(screen).to_be_visible(timeout=T)
    expect(screen).to_have_attribute("data-live", "true", timeout=CALL_T)
    expect(home.locator("#call-view")).to_have_class("call-view sharing")
    assert screen.bounding_box()["width"] > 2 * home.locator("#remote-view").bounding_box()["width"]
    first = screen.evaluate("v => v.currentTime")
    home.wait_for_function(f"() => document.getElementById('screen-view').currentTime > {first}", timeout=CALL_T)
    advisor.get_by_role("button", name="Teilen beenden").click()
    expect(screen).to_be_hidden(timeout=T)
    expect(home.locator("#call-view")).to_have_class("call-view")

    # After the call nothing of the chat is left on the customer's page
    advisor.get_by_role("button", name="Beenden").click()
    expect(home.get_by_role("heading", name="Kurze Umfrage")).to_be_visible(timeout=T)
    expect(home.locator("#chat-list li")).to_have_count(0)
    texts = [NOTE, GERMAN, ARABIC, "ich höre Sie gut", "شكرا", LINK, "Über den Hub"]
    html = home.content()
    assert not [t for t in texts if t in html]
    assert home.evaluate("window.vkLocalBooth.chat.callId") is None
    # Chat is not a consented field: nothing of it in the hub's SQLite file or its logs
    assert stored_anywhere([parts.config.store.path], texts) == []
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert not [t for t in texts if t in logged]


def test_the_call_from_home_survives_the_advisor_reloading_the_console(hub, home_context, advisor_context):  # noqa: F811
    url, parts, _ = hub
    _, [customer] = book(parts, 10)
    advisor = advisor_context.new_page()
    log_in(advisor, url)
    home = join_from_home(home_context, url, customer.token)
    advisor.locator("#waiting-list tr").get_by_role("button", name="Eintreten lassen").click(timeout=T)
    expect(home.locator("#remote-view[data-live=true]")).to_be_visible(timeout=CALL_T)
    home.wait_for_function("() => window.vkLocalBooth.chat.direct", timeout=CALL_T)
    advisor_says(advisor, GERMAN)
    expect(home.locator("#chat-list li").filter(has_text=GERMAN)).to_be_visible(timeout=T)
    first = home.evaluate("window.vkLocalBooth.pc.localDescription.sdp")

    # The advisor's console reloads: the hub asks the home browser (restart_call) to offer afresh
    advisor.reload()
    expect(advisor.locator("#call-status")).to_have_text("Verbunden", timeout=CALL_T)
    advisor.wait_for_function("() => document.getElementById('remote-video').videoWidth > 0", timeout=CALL_T)
    assert home.evaluate("window.vkLocalBooth.pc.localDescription.sdp") != first  # a new connection
    home.wait_for_function("() => window.vkLocalBooth.chat.direct", timeout=CALL_T)
    # Same call: the customer's transcript stays, and the chat works both ways again
    expect(home.locator("#chat-list li").filter(has_text=GERMAN)).to_be_visible()
    home.locator("#chat-input").click()
    home.locator("#chat-input").fill("Wieder da?")
    home.locator("#chat-form").get_by_role("button", name="Senden").click()
    expect(advisor.locator("#chat-list li").filter(has_text="Wieder da?")).to_be_visible(timeout=T)
    advisor_says(advisor, ARABIC)
    expect(home.locator("#chat-list li").filter(has_text=ARABIC)).to_be_visible(timeout=T)
    advisor.get_by_role("button", name="Beenden").click()
    expect(home.get_by_role("heading", name="Kurze Umfrage")).to_be_visible(timeout=T)
