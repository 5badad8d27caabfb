"""Call quality: sample ``getStats()`` every few seconds, grade the link, adapt the booth's video.

Grading (documented thresholds, after published practice for video consultations):

====== =================================================================
good   video bitrate >= 750 kbit/s **and** packet loss < 5 %
poor   video bitrate < 350 kbit/s **or** packet loss > 10 %
fair   everything in between
====== =================================================================

Each direction that carries video in a sample is graded on its own (send: our outbound video
and the loss the far end reports; receive: the inbound video and the loss we see); the sample's
grade is the worse of the two. For the sending direction the bitrate criterion uses the
congestion controller's estimate of what the link carries where one is known (a browser's
``availableOutgoingBitrate``; aiortc's video encoder target, which follows the far end's REMB):
a still picture encodes to a few dozen kbit/s on a perfect link, and that is not poor quality. The grade of a whole call is the grade most samples had (a tie
goes to the worse grade), so one bad second does not mark a call poor.

Adaptation follows the *network* (loss, round-trip time), not the bitrate: the bitrate drops
when we lower the resolution ourselves, and following it would never let the link recover.
aiortc has no public API to cap the encoder's bitrate (aiortc issue #402), so
:class:`AdaptiveVideoTrack` scales frames down and drops frames before the encoder; aiortc's
VP8/H.264 rate control budgets per frame, so fewer and smaller frames do mean fewer bits.
H.264 passthrough packets (``av.Packet``) cannot be scaled without re-encoding: they pass unchanged.

Example::

    track = AdaptiveVideoTrack(camera.video_track())
    pc.addTrack(track)
    monitor = QualityMonitor(pc, track, interval_s=2.0, on_sample=lambda s: print(s.grade))
    monitor.start()
    ...
    await monitor.stop(); monitor.call_grade()   # 'good' | 'fair' | 'poor' | None
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import av
from aiortc.mediastreams import MediaStreamTrack

from .thresholds import GOOD_KBPS, GOOD_LOSS_PCT, POOR_KBPS, POOR_LOSS_PCT
from .timestamps import RisingTimestamps

log = logging.getLogger("videokiosk.quality")

GRADES = ("good", "fair", "poor")
_RANK = {g: i for i, g in enumerate(GRADES)}
VIDEO_CLOCK_HZ = 90_000
# Below this many packets in a sample a direction is "not carrying video" (camera off, muted).
MIN_PACKETS = 5


def grade(video_kbps: float, loss_pct: float) -> str:
    """Grade one direction of a call by the thresholds above.

    >>> grade(800, 1), grade(800, 6), grade(300, 0), grade(2000, 12)
    ('good', 'fair', 'poor', 'poor')
    """
    if video_kbps < POOR_KBPS or loss_pct > POOR_LOSS_PCT:
        return "poor"
    if video_kbps >= GOOD_KBPS and loss_pct < GOOD_LOSS_PCT:
        return "good"
    return "fair"


def worse(*grades: str | None) -> str | None:
    known = [g for g in grades if g]
    return max(known, key=_RANK.__getitem__) if known else None


@dataclass(frozen=True)
class QualitySample:
    """One measurement, reduced from two successive stats reports."""

    send_kbps: float = 0.0
    recv_kbps: float = 0.0
    send_estimate_kbps: float | None = None
    rtt_ms: float | None = None
    jitter_ms: float | None = None
    send_loss_pct: float = 0.0
    recv_loss_pct: float = 0.0
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    grade: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _get(stat: Any, name: str, default: Any = None) -> Any:
    """aiortc gives dataclasses, a browser's report (recorded as JSON) gives dicts."""
    if isinstance(stat, Mapping):
        return stat.get(name, default)
    return getattr(stat, name, default)


def _of(report: Mapping[str, Any], kind_of: str, kind: str | None = None) -> list[Any]:
    return [s for s in report.values()
            if _get(s, "type") == kind_of and (kind is None or _get(s, "kind") == kind)]


def _total(stats: list[Any], name: str) -> float:
    return float(sum(_get(s, name, 0) or 0 for s in stats))


class StatsReducer:
    """Turns successive ``getStats()`` reports into :class:`QualitySample` (rates need two).

    >>> r = StatsReducer()
    >>> r.reduce({"o": {"type": "outbound-rtp", "kind": "video", "bytesSent": 0, "packetsSent": 0}}, 0.0)
    >>> r.reduce({"o": {"type": "outbound-rtp", "kind": "video", "bytesSent": 250_000, "packetsSent": 200}}, 2.0).send_kbps
    1000.0
    """

    def __init__(self) -> None:
        self._last: dict[str, float] | None = None
        self._last_at = 0.0

    def reduce(self, report: Mapping[str, Any], at: float, *, fps: float | None = None,
               size: tuple[int, int] | None = None, send_estimate_kbps: float | None = None) -> QualitySample | None:
        out_v = _of(report, "outbound-rtp", "video")
        in_v = _of(report, "inbound-rtp", "video")
        remote_in = _of(report, "remote-inbound-rtp", "video")
        transport = _of(report, "transport")
        now = {
            "sent": _total(out_v, "bytesSent"),
            "sent_pkts": _total(out_v, "packetsSent"),
            # aiortc's inbound-rtp has no byte count: then the transport's (video dominates it).
            "recv": _total(in_v, "bytesReceived") if any(_get(s, "bytesReceived") is not None for s in in_v)
            else _total(transport, "bytesReceived"),
            "recv_pkts": _total(in_v, "packetsReceived"),
            "lost": _total(in_v, "packetsLost"),
        }
        last, last_at = self._last, self._last_at
        self._last, self._last_at = now, at
        if last is None or at <= last_at:
            return None
        dt = at - last_at
        send_kbps = max(0.0, now["sent"] - last["sent"]) * 8 / dt / 1000
        recv_kbps = max(0.0, now["recv"] - last["recv"]) * 8 / dt / 1000
        got, lost = now["recv_pkts"] - last["recv_pkts"], max(0.0, now["lost"] - last["lost"])
        recv_loss = 100.0 * lost / (got + lost) if got + lost > 0 else 0.0
        send_loss = max((_fraction_lost_pct(_get(s, "fractionLost")) for s in remote_in), default=0.0)
        rtts = [_get(s, "roundTripTime") for s in remote_in if _get(s, "roundTripTime") is not None]
        jitters = [_jitter_ms(_get(s, "jitter")) for s in in_v if _get(s, "jitter") is not None]
        if send_estimate_kbps is None:
            available = [_get(s, "availableOutgoingBitrate") for s in _of(report, "candidate-pair")
                         if _get(s, "availableOutgoingBitrate")]
            send_estimate_kbps = max(available) / 1000 if available else None
        send_rate = send_kbps if send_estimate_kbps is None else max(send_kbps, send_estimate_kbps)
        sending = now["sent_pkts"] - last["sent_pkts"] >= MIN_PACKETS
        receiving = got >= MIN_PACKETS
        return QualitySample(
            send_kbps=round(send_kbps, 1), recv_kbps=round(recv_kbps, 1),
            send_estimate_kbps=None if send_estimate_kbps is None else round(send_estimate_kbps, 1),
            rtt_ms=round(max(rtts) * 1000, 1) if rtts else None,
            jitter_ms=round(max(jitters), 1) if jitters else None,
            send_loss_pct=round(send_loss, 1), recv_loss_pct=round(recv_loss, 1),
            fps=None if fps is None else round(fps, 1),
            width=size[0] if size else None, height=size[1] if size else None,
            grade=worse(grade(send_rate, send_loss) if sending else None,
                        grade(recv_kbps, recv_loss) if receiving else None),
        )


def _fraction_lost_pct(value: Any) -> float:
    # RTCP carries loss as an 8-bit fraction (aiortc reports that integer); browsers give 0..1.
    if value is None:
        return 0.0
    return 100.0 * (value / 256 if isinstance(value, int) else float(value))


def _jitter_ms(value: Any) -> float:
    # aiortc: RTP timestamp units of the 90 kHz video clock; browsers: seconds.
    return value * 1000 / VIDEO_CLOCK_HZ if isinstance(value, int) else float(value) * 1000


# --- adaptation -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Level:
    """One step of the booth's sending quality: a share of the camera's size and a frame rate cap."""

    scale: float
    max_fps: float


LEVELS = (Level(1.0, 30), Level(0.75, 20), Level(0.5, 15), Level(0.5, 8))


class AdaptationPolicy:
    """When to step down or up, from the network signals of each sample (with hysteresis).

    Step down at once on heavy loss (> 10 %) or a round trip over ``max_rtt_ms``, or after two
    samples in a row with loss over 5 %; step up only after ``recover_after`` calm samples (loss
    under 2 %, round trip under ``calm_rtt_ms``), so the level does not flap.
    """

    def __init__(self, levels: int = len(LEVELS), *, recover_after: int = 3,
                 max_rtt_ms: float = 600.0, calm_rtt_ms: float = 300.0) -> None:
        self.levels = levels
        self.level = 0
        self.recover_after = recover_after
        self.max_rtt_ms = max_rtt_ms
        self.calm_rtt_ms = calm_rtt_ms
        self._lossy = 0
        self._calm = 0

    def decide(self, sample: QualitySample) -> int:
        """Feed one sample; returns the (possibly new) level."""
        loss, rtt = sample.send_loss_pct, sample.rtt_ms or 0.0
        self._lossy = self._lossy + 1 if loss > GOOD_LOSS_PCT else 0
        self._calm = self._calm + 1 if loss < 2.0 and rtt < self.calm_rtt_ms else 0
        if loss > POOR_LOSS_PCT or rtt > self.max_rtt_ms or self._lossy >= 2:
            if self.level < self.levels - 1:
                self.level += 1
                self._lossy = 0
        elif self._calm >= self.recover_after and self.level > 0:
            self.level -= 1
            self._calm = 0
        return self.level


class AdaptiveVideoTrack(MediaStreamTrack):
    """The camera track with a quality :attr:`level`: frames scaled down and thinned out as asked.

    Example::

        track = AdaptiveVideoTrack(camera.video_track())
        track.level = 2          # half size, at most 15 frames per second
    """

    kind = "video"

    def __init__(self, source: MediaStreamTrack, levels: tuple[Level, ...] = LEVELS,
                 now: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._source = source
        self.levels = levels
        self.level = 0
        self._now = now
        self._next_due = 0.0
        self._sent: deque[float] = deque(maxlen=64)
        self.size: tuple[int, int] | None = None
        # A camera that restarts (replugged, reopened) starts its timestamps again.
        self._stamps = RisingTimestamps()

    async def recv(self):
        while True:
            frame = await self._source.recv()
            if isinstance(frame, av.Packet):
                return frame  # passthrough H.264: not ours to scale
            step = self.levels[self.level]
            now = self._now()
            if now + 0.004 < self._next_due:
                continue  # thinning out: this frame comes too soon for the cap
            self._next_due = max(now, self._next_due) + 1.0 / step.max_fps
            if step.scale < 1.0:
                frame = _scaled(frame, step.scale)
            self._stamps.apply(frame)
            self._sent.append(now)
            self.size = (frame.width, frame.height)
            return frame

    def fps(self) -> float | None:
        """Frames per second sent over the last couple of seconds."""
        if len(self._sent) < 2:
            return None
        span = self._sent[-1] - self._sent[0]
        return (len(self._sent) - 1) / span if span > 0 else None

    def stop(self) -> None:
        super().stop()
        self._source.stop()


def _scaled(frame: av.VideoFrame, scale: float) -> av.VideoFrame:
    width = max(2, int(frame.width * scale) // 2 * 2)  # yuv420p needs even sizes
    height = max(2, int(frame.height * scale) // 2 * 2)
    out = frame.reformat(width=width, height=height, format="yuv420p")
    out.pts, out.time_base = frame.pts, frame.time_base
    return out


# --- the monitor ------------------------------------------------------------------------------

class QualityMonitor:
    """Samples a peer connection's stats every ``interval_s``, grades them, and adapts ``track``.

    ``on_sample`` gets every :class:`QualitySample` (the booth shows signal bars and tells the
    hub); ``on_level`` gets each new adaptation level. Runs until :meth:`stop`.
    """

    def __init__(self, pc: Any, track: AdaptiveVideoTrack | None = None, *, interval_s: float = 2.0,
                 on_sample: Callable[[QualitySample], Any] | None = None,
                 on_level: Callable[[int], Any] | None = None,
                 policy: AdaptationPolicy | None = None, now: Callable[[], float] = time.monotonic) -> None:
        self._pc = pc
        self._track = track
        self.interval_s = interval_s
        self._on_sample = on_sample
        self._on_level = on_level
        self.policy = policy or AdaptationPolicy(len(track.levels) if track else len(LEVELS))
        self._now = now
        self._reducer = StatsReducer()
        self._task: asyncio.Task | None = None
        self.samples: deque[QualitySample] = deque(maxlen=900)  # 30 min at 2 s: enough for a call

    @property
    def last(self) -> QualitySample | None:
        return self.samples[-1] if self.samples else None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def sample_once(self) -> QualitySample | None:
        report = _main_inbound_streams(self._pc, await self._pc.getStats())
        track = self._track
        sample = self._reducer.reduce(report, self._now(), fps=track.fps() if track else None,
                                      size=track.size if track else None, send_estimate_kbps=self._estimate_kbps())
        if sample is None:
            return None
        self.samples.append(sample)
        if track is not None:
            level = self.policy.decide(sample)
            if level != track.level:
                log.info("quality: %s, loss %.1f %%: sending at level %d", sample.grade, sample.send_loss_pct, level)
                track.level = level
                if self._on_level:
                    self._on_level(level)
        if self._on_sample:
            self._on_sample(sample)
        return sample

    def _estimate_kbps(self) -> float | None:
        """aiortc keeps its bandwidth estimate (REMB from the far end) as the video encoder's target
        bitrate; there is no public API for it (aiortc issue #402), hence the careful getattr."""
        for sender in getattr(self._pc, "getSenders", lambda: [])():
            if getattr(sender, "kind", None) == "video":
                encoder = getattr(sender, "_RTCRtpSender__encoder", None)
                target = getattr(encoder, "target_bitrate", None)
                if isinstance(target, (int, float)) and target > 0:
                    return target / 1000
        return None

    async def _run(self) -> None:
        while True:
            try:
                await self.sample_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a closing peer connection: the next sample will tell
                log.debug("quality: stats unavailable (%s)", exc)
            await asyncio.sleep(self.interval_s)

    def call_grade(self) -> str | None:
        return call_grade(self.samples)

    def mean_rates(self) -> tuple[float | None, float | None]:
        """Mean send and receive rate (kbit/s) over the call: the consented up-/download rate."""
        if not self.samples:
            return None, None
        n = len(self.samples)
        return (round(sum(s.send_kbps for s in self.samples) / n, 1),
                round(sum(s.recv_kbps for s in self.samples) / n, 1))


def _main_inbound_streams(pc: Any, report: Mapping[str, Any]) -> Mapping[str, Any]:
    """aiortc files every incoming stream of a receiver under one ``inbound-rtp`` id, so once the
    far end retransmits (RTX, its own SSRC) the retransmission stream hides the media stream.
    Put each video receiver's busiest stream back; anything unexpected leaves the report as is."""
    mains = []
    for receiver in getattr(pc, "getReceivers", lambda: [])():
        streams = getattr(receiver, "_RTCRtpReceiver__remote_streams", None)
        if getattr(getattr(receiver, "track", None), "kind", None) != "video" or not isinstance(streams, dict):
            continue
        try:
            main = max(streams.values(), key=lambda st: st.packets_received, default=None)
            if main is not None:
                mains.append({"type": "inbound-rtp", "kind": "video", "packetsReceived": main.packets_received,
                              "packetsLost": main.packets_lost, "jitter": main.jitter})
        except AttributeError:
            return report
    if not mains:
        return report
    merged = {k: v for k, v in report.items() if not (_get(v, "type") == "inbound-rtp" and _get(v, "kind") == "video")}
    merged.update({f"inbound-rtp-video-{i}": stat for i, stat in enumerate(mains)})
    return merged


def call_grade(samples: Any) -> str | None:
    """The grade most samples had; a tie goes to the worse grade.

    >>> call_grade([QualitySample(grade="good")] * 3 + [QualitySample(grade="poor")])
    'good'
    """
    counts = Counter(s.grade for s in samples if s.grade)
    if not counts:
        return None
    return max(counts, key=lambda g: (counts[g], _RANK[g]))
