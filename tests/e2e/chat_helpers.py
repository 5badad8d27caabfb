"""Shared steps of the chat and screen-sharing end-to-end tests (issue 9)."""

from __future__ import annotations

import io

import av
import numpy as np
from playwright.sync_api import Page, expect

from appliance.chat import BoothChat

from .harness import Stack, kiosk_to_waiting, log_in


def into_call(stack: Stack, advisor: Page, kiosk: Page, *, before_admit=None) -> None:
    """Kiosk journey to the waiting room, the advisor logs in and admits; media flows."""
    log_in(advisor, stack.hub_url)
    kiosk_to_waiting(kiosk, stack.booth.url)
    row = advisor.get_by_role("row").filter(has_text="Kiosk 1, Musterstadt")
    expect(row).to_be_visible()
    if before_admit is not None:
        before_admit(row)
    row.get_by_role("button", name="Eintreten lassen").click()
    stack.wait_state("call")
    stack.advisor_connected(advisor)
    expect(kiosk.locator("#remote-view")).to_have_attribute("data-live", "true", timeout=20000)


def booth_chat(stack: Stack) -> BoothChat:
    return next(ext for ext in stack.booth.call._extensions if isinstance(ext, BoothChat))


def decode_qr(png: bytes) -> list[str]:
    """The texts of the QR codes in a PNG screenshot (zxing-cpp, as the booth's own scanner uses)."""
    import zxingcpp

    with av.open(io.BytesIO(png)) as container:
        image = next(container.decode(video=0)).to_ndarray(format="rgb24")
    return [result.text for result in zxingcpp.read_barcodes(np.ascontiguousarray(image))]
