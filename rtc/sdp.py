"""Small, explicit edits of SDP text (no aiortc here: plain strings).

Example::

    >>> sdp = "m=video 9 UDP/TLS/RTP/SAVPF 97\\r\\na=rtpmap:97 VP8/90000\\r\\n"
    >>> print(with_start_bitrate(sdp, 1500).replace("\\r\\n", "|"))
    m=video 9 UDP/TLS/RTP/SAVPF 97|a=rtpmap:97 VP8/90000|a=fmtp:97 x-google-start-bitrate=1500|
"""

from __future__ import annotations

import re

_RTPMAP = re.compile(r"^a=rtpmap:(\d+) (VP8|VP9|H264|AV1)/", re.IGNORECASE)
_FMTP = re.compile(r"^a=fmtp:(\d+) ")
# a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ ...
_MDNS_CANDIDATE = re.compile(r"^a=candidate:\S+ \d+ \S+ \d+ \S+\.local \d+ ", re.IGNORECASE)


def with_start_bitrate(sdp: str, kbps: int) -> str:
    """Tell a Chromium peer to start sending video at ``kbps`` instead of its default 300.

    Chromium's pacer spreads the first key frame over the start bitrate: at 300 kbit/s a
    640x480 key frame takes a good 100 ms to leave the advisor's browser. The parameter is read
    from the remote description's fmtp line and ignored by every other implementation; the
    bandwidth estimator still adapts from there.
    """
    lines = sdp.split("\r\n")
    video_pts = {m.group(1) for line in lines if (m := _RTPMAP.match(line))}
    has_fmtp = {m.group(1) for line in lines if (m := _FMTP.match(line)) and m.group(1) in video_pts}
    out: list[str] = []
    for line in lines:
        fmtp = _FMTP.match(line)
        if fmtp and fmtp.group(1) in video_pts:
            line += f";x-google-start-bitrate={kbps}"
        out.append(line)
        rtpmap = _RTPMAP.match(line)
        if rtpmap and rtpmap.group(1) not in has_fmtp:
            out.append(f"a=fmtp:{rtpmap.group(1)} x-google-start-bitrate={kbps}")
    return "\r\n".join(out)


def without_mdns_candidates(sdp: str) -> str:
    """``sdp`` without the candidates a browser named by mDNS (``<uuid>.local``).

    A page without camera permission (the kiosk page) names its addresses so. aiortc resolves
    each such name before ``setRemoteDescription`` returns, and one that nobody answers for costs
    a second (aioice's timeout). For a peer on the same machine that was a second of every
    negotiation, in which the page's later messages waited. The browser's connectivity checks
    still reach our own candidates, so the connection forms without them (peer-reflexive); an
    end-of-candidates goes too, or aioice would give up before those checks arrive.

    >>> sdp = "m=video 9 UDP/TLS/RTP/SAVPF 97\\r\\na=candidate:1 1 udp 2113937151 0f1e.local 54277 typ host\\r\\n"
    >>> without_mdns_candidates(sdp + "a=end-of-candidates\\r\\n")
    'm=video 9 UDP/TLS/RTP/SAVPF 97\\r\\n'
    """
    lines = sdp.split("\r\n")
    kept = [line for line in lines if not _MDNS_CANDIDATE.match(line)]
    if len(kept) < len(lines):
        kept = [line for line in kept if line != "a=end-of-candidates"]
    return "\r\n".join(kept)
