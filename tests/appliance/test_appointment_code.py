"""The booth's "Ich habe einen Termin" path in the session: code screen, hub verdict, waiting room."""

from __future__ import annotations

import asyncio

import av
import numpy as np
import segno
from aiortc import VideoStreamTrack

from appliance.qrscan import CodeScanner
from appliance.session import Session, State

from .helpers import CannedChecks, RecordingHub, until


class CodeHub(RecordingHub):
    """A hub link that records code checks (the real hub is in tests/hub and tests/kiosk_ui)."""

    async def check_code(self, code, token=None):
        self.calls.append(("check_code", code or token))


async def test_a_good_code_leads_through_consent_to_an_appointment_in_the_waiting_room(clock, store):
    hub = CodeHub()
    session = Session(clock=clock, store=store, hub=hub, checks=CannedChecks())
    assert await session.handle("have_appointment")
    assert session.state is State.APPOINTMENT and session.snapshot()["appointment"]["error"] is None
    await session.handle("submit_code", code="k7m2-x9pq")
    await session.drain()
    assert ("check_code", "k7m2-x9pq") in hub.calls and session.snapshot()["appointment"]["checking"]
    # Summer time: 08:45 UTC is 10:45 in Berlin
    await session.handle("code_accepted", appointment_at="2026-06-01T08:45:00+00:00", language="de")
    assert session.state is State.CONSENT
    await session.handle("accept")
    await until(session, lambda snap: snap.get("checks", {}).get("passed"))
    await session.handle("continue")
    await session.drain()
    assert session.snapshot()["waiting"]["appointment_time"] == "10:45"
    ticket = next(data for name, data in hub.calls if name == "enter_waiting")
    assert ticket["kind"] == "appointment" and ticket["appointment_at"] == "2026-06-01T10:45:00+02:00"


async def test_refusals_are_shown_and_a_malformed_code_never_reaches_the_hub(clock):
    hub = CodeHub()
    session = Session(clock=clock, hub=hub)
    await session.handle("have_appointment")
    await session.handle("submit_code", code="<script>")
    await session.drain()
    assert session.snapshot()["appointment"]["error"] == "unknown" and not any(n == "check_code" for n, _ in hub.calls)
    await session.handle("code_refused", reason="too_early", opens_at="2026-01-05T09:30:00+00:00")
    assert session.snapshot()["appointment"] == {"checking": False, "error": "too_early", "opens_at": "10:30"}
    await session.handle("code_refused", reason="something-else")
    assert session.snapshot()["appointment"]["error"] == "unknown"
    assert not await session.handle("code_accepted", appointment_at=None)  # no time: refused, stays
    assert session.state is State.APPOINTMENT
    await session.handle("cancel")
    assert session.state is State.IDLE and session.session_id is None


class ShownQR(VideoStreamTrack):
    """A camera track that sees a blank wall first, then the invitation's QR code held up."""

    def __init__(self, text: str, blank_frames: int = 3) -> None:
        super().__init__()
        matrix = np.array(segno.make(text, error="m").matrix, dtype=np.uint8)
        code = np.kron(1 - matrix, np.ones((5, 5), dtype=np.uint8)) * 255
        self.image = np.full((480, 640), 235, np.uint8)
        h, w = code.shape
        self.image[60:60 + h + 40, 100:100 + w + 40] = 255  # the paper, with its quiet zone
        self.image[80:80 + h, 120:120 + w] = code
        self.blank = blank_frames
        self.stopped = asyncio.Event()

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        self.blank -= 1
        image = np.full((480, 640), 235, np.uint8) if self.blank >= 0 else self.image
        frame = av.VideoFrame.from_ndarray(np.stack([image] * 3, axis=-1), format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        return frame

    def stop(self):
        super().stop()
        self.stopped.set()


async def test_the_invitations_qr_code_held_up_to_the_camera_is_checked_like_a_code(clock):
    token = "PDzZhEoYZSqA9QzbX3S2jqTHVf1m81qRUM3HksxPLJk"
    tracks = []

    def camera():
        tracks.append(ShownQR(f"https://hub.example/join#{token}"))
        return tracks[-1]

    hub = CodeHub()
    session = Session(clock=clock, hub=hub, scanner=CodeScanner(camera, every_s=0.01))
    await session.handle("have_appointment")
    await until(session, lambda snap: snap.get("appointment", {}).get("checking"), timeout=20)
    await session.drain()
    assert ("check_code", token) in hub.calls
    await asyncio.wait_for(tracks[0].stopped.wait(), 5)  # the camera is let go once the code is read
    # Refused: the scanner looks again, but the same QR code is not sent a second time
    await session.handle("code_refused", reason="expired")
    assert session.snapshot()["appointment"]["error"] == "expired"
    await session.handle("cancel")
    await asyncio.wait_for(tracks[-1].stopped.wait(), 5)  # leaving the screen stops the camera
    assert [c for c in hub.calls if c[0] == "check_code"] == [("check_code", token)]
