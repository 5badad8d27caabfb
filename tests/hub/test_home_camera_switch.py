"""A phone with a front and a back camera switches between them in the call from home (issue 19):
"Kamera wechseln" shows in the call when the browser offers more than one camera (Chromium's fake
devices, in phone emulation with touch), and a tap puts the other camera on the
connection to the advisor without renegotiation (the same local description, the sender's track
replaced), the old camera released, the advisor's picture still flowing; with one camera the button
never shows (tests/hub/test_home_call_extras.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import CHROMIUM_ARGS, launch_chromium

from .test_appointments_browser import T, book, hub, join_from_home  # noqa: F401 (fixture)
from .test_console import log_in
from .test_home_phone_lock import CALL_T, frames_flow

pytestmark = [pytest.mark.browser, pytest.mark.slow]
# Chromium's fake cameras: the first (I420) and the third (MJPEG) are cameras as a phone's are; the
# second emulates a depth camera (Y16) whose frames no video encoder takes (the call's picture would
# stop), so the phone's page is not shown it: a phone's front and back camera.
TWO_CAMERAS = [arg.replace("--use-fake-device-for-media-stream", "--use-fake-device-for-media-stream=device-count=3")
               for arg in CHROMIUM_ARGS]
NO_DEPTH_CAMERA = """(() => {
  const native = MediaDevices.prototype.enumerateDevices;
  MediaDevices.prototype.enumerateDevices = async function () {
    return (await native.call(this)).filter((device) => device.label !== "fake_device_1");
  };
})()"""
SENT_CAMERA = """() => {
  const sender = window.vkLocalBooth.pc.getSenders().find((s) => s.track && s.track.kind === 'video');
  return { device: sender.track.getSettings().deviceId, live: sender.track.readyState,
           stream: window.vkLocalBooth.callStream.getVideoTracks().map((t) => t.getSettings().deviceId) };
}"""


@pytest.mark.timeout(300)
def test_a_phone_with_two_cameras_switches_between_them_in_the_call(hub, playwright_driver, advisor_context):  # noqa: F811
    url, parts, _ = hub
    _, [customer] = book(parts, 10)
    phone_browser = launch_chromium(playwright_driver, TWO_CAMERAS)
    try:
        context = phone_browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
                                            device_scale_factor=2, permissions=["camera", "microphone"])
        context.add_init_script(NO_DEPTH_CAMERA)
        advisor = advisor_context.new_page()
        log_in(advisor, url)
        phone = join_from_home(context, url, customer.token)
        switch = phone.get_by_role("button", name="Kamera wechseln")
        expect(switch).to_be_hidden()  # not before the call
        advisor.locator("#waiting-list tr").get_by_role("button", name="Eintreten lassen").click(timeout=T)
        expect(advisor.locator("#call-status")).to_have_text("Verbunden", timeout=CALL_T)
        frames_flow(advisor, phone)
        expect(switch).to_be_visible()
        box = switch.bounding_box()
        assert box["width"] >= 48 and box["height"] >= 48  # a finger's target
        before = phone.evaluate(SENT_CAMERA)
        offer = phone.evaluate("window.vkLocalBooth.pc.localDescription.sdp")
        old_track = "window.__old = window.vkLocalBooth.callStream.getVideoTracks()[0]"
        phone.evaluate(old_track)

        switch.tap()
        phone.wait_for_function(f"(device) => ({SENT_CAMERA})().device !== device", arg=before["device"], timeout=T)
        after = phone.evaluate(SENT_CAMERA)
        assert after["live"] == "live" and after["stream"] == [after["device"]]  # the call's stream has the new one
        assert phone.evaluate("window.__old.readyState") == "ended"  # the other camera is released
        assert phone.evaluate("window.vkLocalBooth.pc.localDescription.sdp") == offer  # no renegotiation
        frames_flow(advisor, phone)  # the advisor's picture keeps coming, now from the other camera

        switch.tap()  # and back: two cameras take turns
        phone.wait_for_function(f"(device) => ({SENT_CAMERA})().device === device", arg=before["device"], timeout=T)
        advisor.get_by_role("button", name="Beenden").click()
        expect(phone.get_by_role("heading", name="Kurze Umfrage")).to_be_visible(timeout=T)
        expect(switch).to_be_hidden()
    finally:
        phone_browser.close()
