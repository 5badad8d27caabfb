"""Call quality: grading from recorded stats samples, adaptation under real induced packet loss."""

from __future__ import annotations

import asyncio
import fractions
import random

import av
import numpy as np
import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtp import is_rtcp

from hw.synthetic import SyntheticVideoTrack
from rtc.adaptation import LEVELS, AdaptationPolicy, AdaptiveVideoTrack
from rtc.grading import QualitySample, call_grade, grade
from rtc.quality import QualityMonitor
from rtc.statsreduce import StatsReducer


# --- grading ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kbps, loss, expected", [
    (750, 0, "good"), (749.9, 0, "fair"), (2000, 4.9, "good"), (2000, 5.0, "fair"), (2000, 10.0, "fair"),
    (2000, 10.1, "poor"), (350, 0, "fair"), (349.9, 0, "poor"), (500, 7, "fair"), (100, 50, "poor"),
])
def test_grade_thresholds(kbps, loss, expected):
    assert grade(kbps, loss) == expected


def _aiortc_report(t: int, sent: int, pkts: int, fraction_lost: int, rtt: float, recv: int, got: int, lost: int):
    """Shaped like aiortc's report (integer fractionLost, jitter in 90 kHz units, no inbound bytes)."""
    return {
        "out": {"type": "outbound-rtp", "kind": "video", "bytesSent": sent, "packetsSent": pkts},
        "rin": {"type": "remote-inbound-rtp", "kind": "video", "fractionLost": fraction_lost, "roundTripTime": rtt,
                "packetsLost": 0, "packetsReceived": pkts, "jitter": 90},
        "in": {"type": "inbound-rtp", "kind": "video", "packetsReceived": got, "packetsLost": lost, "jitter": 900},
        "tr": {"type": "transport", "bytesReceived": recv, "bytesSent": sent},
    }


# Recorded every 2 s on a call whose link got worse, then recovered (byte counters cumulative).
RECORDED = [
    _aiortc_report(0, 0, 0, 0, 0.02, 0, 0, 0),
    _aiortc_report(2, 250_000, 200, 0, 0.02, 240_000, 200, 0),          # 1000 kbit/s both ways, clean
    _aiortc_report(4, 450_000, 400, 20, 0.05, 440_000, 388, 12),        # 800 kbit/s, 7.8 % / 5.7 % loss
    _aiortc_report(6, 520_000, 500, 40, 0.20, 500_000, 470, 30),        # 280 kbit/s, 15.6 % / 18 % loss
    _aiortc_report(8, 770_000, 700, 0, 0.03, 740_000, 670, 30),         # recovered
]


def test_recorded_aiortc_samples_grade_as_the_link_went():
    reducer = StatsReducer()
    samples = [reducer.reduce(r, float(2 * i)) for i, r in enumerate(RECORDED)]
    assert samples[0] is None  # a rate needs two reports
    assert [s.grade for s in samples[1:]] == ["good", "fair", "poor", "good"]
    first, bad = samples[1], samples[3]
    assert first.send_kbps == 1000.0 and first.recv_kbps == 960.0 and first.rtt_ms == 20.0
    assert first.jitter_ms == 10.0  # 900 ticks of the 90 kHz clock
    assert bad.send_loss_pct == pytest.approx(15.6, abs=0.1) and bad.recv_loss_pct == 18.0  # 18 of 100 expected
    assert call_grade(samples[1:]) == "good"


def test_recorded_browser_samples_use_fractions_and_seconds():
    reducer = StatsReducer()
    base = {"type": "inbound-rtp", "kind": "video", "jitter": 0.015}
    reducer.reduce({"in": {**base, "bytesReceived": 0, "packetsReceived": 0, "packetsLost": 0},
                    "rin": {"type": "remote-inbound-rtp", "kind": "video", "fractionLost": 0.0}}, 10.0)
    sample = reducer.reduce({
        "in": {**base, "bytesReceived": 100_000, "packetsReceived": 90, "packetsLost": 10},
        "rin": {"type": "remote-inbound-rtp", "kind": "video", "fractionLost": 0.12, "roundTripTime": 0.1},
    }, 12.0)
    assert sample.recv_kbps == 400.0 and sample.recv_loss_pct == 10.0 and sample.jitter_ms == 15.0
    assert sample.grade == "fair"  # nothing sent: only the receiving direction is graded
    assert sample.rtt_ms == 100.0


def test_a_still_picture_on_a_good_link_is_not_poor():
    """Few bits because there is little to encode: the bitrate criterion uses the link's estimate."""
    out = lambda sent, pkts: {"type": "outbound-rtp", "kind": "video", "bytesSent": sent, "packetsSent": pkts}  # noqa: E731
    browser, aiortc_like, measured_only = StatsReducer(), StatsReducer(), StatsReducer()
    for reducer in (browser, aiortc_like, measured_only):
        reducer.reduce({"o": out(0, 0)}, 0.0)
    pair = {"type": "candidate-pair", "state": "succeeded", "availableOutgoingBitrate": 1_500_000}
    assert browser.reduce({"o": out(10_000, 60), "p": pair}, 2.0).grade == "good"
    sample = aiortc_like.reduce({"o": out(10_000, 60)}, 2.0, send_estimate_kbps=900.0)
    assert (sample.grade, sample.send_kbps, sample.send_estimate_kbps) == ("good", 40.0, 900.0)
    assert measured_only.reduce({"o": out(10_000, 60)}, 2.0).grade == "poor"


def test_call_grade_tie_goes_to_the_worse():
    assert call_grade([QualitySample(grade="good"), QualitySample(grade="poor")]) == "poor"
    assert call_grade([QualitySample()]) is None


def test_policy_steps_down_fast_and_up_slowly():
    policy = AdaptationPolicy(recover_after=3)
    lossy, calm = QualitySample(send_loss_pct=12), QualitySample(send_loss_pct=0, rtt_ms=20)
    assert [policy.decide(s) for s in (lossy, lossy, calm, calm, calm, calm, calm, calm)] == [1, 2, 2, 2, 1, 1, 1, 0]
    moderate = QualitySample(send_loss_pct=7)
    assert [policy.decide(s) for s in (moderate, moderate)] == [0, 1]  # two in a row, not one
    assert [policy.decide(QualitySample(rtt_ms=900))] == [2]


class _Frames(MediaStreamTrack):
    """A 30 fps camera on a fake clock: each frame moves the clock on by 1/30 s."""

    kind = "video"

    def __init__(self, clock: list[float]) -> None:
        super().__init__()
        self.clock, self.pts = clock, 0

    async def recv(self):
        self.clock[0] += 1 / 30
        frame = av.VideoFrame.from_ndarray(np.zeros((240, 320, 3), np.uint8), format="rgb24")
        frame.pts, frame.time_base = self.pts, fractions.Fraction(1, 90000)
        self.pts += 3000
        return frame


async def test_adaptive_track_scales_and_thins_out():
    clock = [0.0]
    track = AdaptiveVideoTrack(_Frames(clock), now=lambda: clock[0])

    async def one_second() -> list:
        end, out = clock[0] + 1.0, []
        while clock[0] < end - 1e-9:
            out.append(await track.recv())
        return out

    full = await one_second()
    assert len(full) >= 29 and (full[0].width, full[0].height) == (320, 240)
    track.level = 2  # half size, at most 15 fps
    half = await one_second()
    assert (half[-1].width, half[-1].height) == (160, 120) and half[-1].pts is not None
    assert 14 <= len(half) <= 16
    assert track.size == (160, 120) and 14 <= track.fps() <= 31


async def test_adaptive_track_keeps_timestamps_rising_when_the_camera_restarts():
    clock = [0.0]
    source = _Frames(clock)
    track = AdaptiveVideoTrack(source, now=lambda: clock[0])
    first = [(await track.recv()).pts for _ in range(3)]
    source.pts = 0  # the camera was reopened: its clock starts again
    later = [(await track.recv()).pts for _ in range(3)]
    stamps = first + later
    assert all(b > a for a, b in zip(stamps, stamps[1:])), stamps
    assert later[2] - later[1] == 3000  # the spacing of frames is kept


# --- real peers, real loss --------------------------------------------------------------------

class _Lossy:
    """Drops a share of the outgoing RTP (never RTCP) of one DTLS transport: a lossy uplink."""

    def __init__(self, transport, seed: int = 7) -> None:
        self.drop = 0.0
        self._rng = random.Random(seed)
        self._send = transport._send_rtp
        transport._send_rtp = self  # aiortc's senders call transport._send_rtp(data)

    async def __call__(self, data: bytes) -> None:
        if not is_rtcp(data) and self._rng.random() < self.drop:
            return
        await self._send(data)


async def _connect(sender: RTCPeerConnection, receiver: RTCPeerConnection) -> None:
    await sender.setLocalDescription(await sender.createOffer())
    await receiver.setRemoteDescription(sender.localDescription)
    await receiver.setLocalDescription(await receiver.createAnswer())
    await sender.setRemoteDescription(receiver.localDescription)


@pytest.mark.timeout(90)
async def test_booth_lowers_and_restores_its_video_under_induced_loss():
    sender, receiver = RTCPeerConnection(), RTCPeerConnection()
    track = AdaptiveVideoTrack(SyntheticVideoTrack(320, 240, 20))
    sender.addTrack(track)
    drained: list[asyncio.Task] = []
    receiver.on("track", lambda t: drained.append(asyncio.ensure_future(_drain(t))))
    connected = asyncio.Event()
    sender.on("connectionstatechange", lambda: sender.connectionState == "connected" and connected.set())
    levels: list[int] = []
    sampled = asyncio.Event()

    async def until(condition, timeout: float) -> None:
        """Wait sample by sample (no sleeping) until ``condition()`` holds."""
        async def loop() -> None:
            while not condition():
                sampled.clear()
                await sampled.wait()
        await asyncio.wait_for(loop(), timeout)

    monitor = QualityMonitor(sender, track, interval_s=0.5, on_level=levels.append,
                             on_sample=lambda s: sampled.set(),
                             policy=AdaptationPolicy(len(LEVELS), recover_after=2))
    # The receiving end measures the same loss from its side (despite aiortc's RTX stream stats).
    far_end = QualityMonitor(receiver, interval_s=0.5)
    try:
        await _connect(sender, receiver)
        await asyncio.wait_for(connected.wait(), 20)
        lossy = _Lossy(sender.getSenders()[0].transport)
        monitor.start()
        far_end.start()
        lossy.drop = 0.3
        await until(lambda: track.level >= 2 and (monitor.last.width or 999) <= 160, 30)
        assert any(s.send_loss_pct > 10 for s in monitor.samples)
        assert any(s.grade == "poor" for s in monitor.samples)
        assert any(s.recv_loss_pct > 10 for s in far_end.samples), [s.recv_loss_pct for s in far_end.samples]
        peak = levels.index(max(levels))
        assert levels[: peak + 1] == sorted(levels[: peak + 1])  # only down while the loss lasts
        lossy.drop = 0.0
        await until(lambda: track.level == 0 and monitor.last.width == 320, 40)
        assert levels[-1] == 0
        assert monitor.last.send_loss_pct < 2
    finally:
        await monitor.stop()
        await far_end.stop()
        for task in drained:
            task.cancel()
        await sender.close()
        await receiver.close()


async def _drain(track: MediaStreamTrack) -> None:
    try:
        while True:
            await track.recv()
    except Exception:
        return
