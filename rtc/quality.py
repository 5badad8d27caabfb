"""Call quality: sample ``getStats()`` every few seconds, grade the link, adapt the booth's video.

Grading (rtc/grading.py, by the documented thresholds of rtc/thresholds.py, after published
practice for video consultations): good, fair or poor.

Each direction that carries video in a sample is graded on its own (send: our outbound video
and the loss the far end reports; receive: the inbound video and the loss we see); the sample's
grade is the worse of the two. For the sending direction the bitrate criterion uses the
congestion controller's estimate of what the link carries where one is known (a browser's
``availableOutgoingBitrate``; aiortc's video encoder target, which follows the far end's REMB):
a still picture encodes to a few dozen kbit/s on a perfect link, and that is not poor quality. The grade of a whole call is the grade most samples had (a tie
goes to the worse grade), so one bad second does not mark a call poor.

Adaptation (rtc/adaptation.py) follows the *network* (loss, round-trip time), not the bitrate.
The reports are reduced to samples in rtc/statsreduce.py; this module is the monitor loop.

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
from collections import deque
from collections.abc import Callable
from typing import Any

from .adaptation import LEVELS, AdaptationPolicy, AdaptiveVideoTrack
from .grading import QualitySample, call_grade
from .statsreduce import StatsReducer, main_inbound_streams

log = logging.getLogger("videokiosk.quality")


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
        report = main_inbound_streams(self._pc, await self._pc.getStats())
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

