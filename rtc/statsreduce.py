"""Successive ``getStats()`` reports of a peer connection, reduced to one graded
:class:`~rtc.grading.QualitySample` each (aiortc's dataclasses or a browser's JSON alike).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiortc.mediastreams import VIDEO_CLOCK_RATE

from .grading import QualitySample, grade, worse

# Below this many packets in a sample a direction is "not carrying video" (camera off, muted).
MIN_PACKETS = 5


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
    return value * 1000 / VIDEO_CLOCK_RATE if isinstance(value, int) else float(value) * 1000


def main_inbound_streams(pc: Any, report: Mapping[str, Any]) -> Mapping[str, Any]:
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
