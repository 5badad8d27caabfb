"""Adapting the booth's video to the network (loss, round-trip time), not to the bitrate: the
bitrate drops when we lower the resolution ourselves, and following it would never let the link
recover. aiortc has no public API to cap the encoder's bitrate (aiortc issue #402), so
:class:`AdaptiveVideoTrack` scales frames down and drops frames before the encoder; aiortc's
VP8/H.264 rate control budgets per frame, so fewer and smaller frames do mean fewer bits. H.264
passthrough packets (``av.Packet``) cannot be scaled without re-encoding: they pass unchanged.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import av
from aiortc.mediastreams import MediaStreamTrack

from .grading import QualitySample
from .thresholds import GOOD_LOSS_PCT, POOR_LOSS_PCT
from .timestamps import RisingTimestamps


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
