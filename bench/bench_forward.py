"""The booth's CPU per frame of the advisor's video while it forwards them to the kiosk page.

rtc/forward.py hands each complete frame to the kiosk page still encoded; the booth itself then
decodes the keyframes alone. The baseline, in the same run: the same path decoding every frame, as
before (an aiortc without the decoder queue the hook relies on still does). Both replay the same
640x480 VP8 frames (the synthetic camera's picture, encoded once beforehand at the advisor's start
rate) through :class:`rtc.forward.EncodedVideo` with one page forwarding, and through aiortc's VP8
decoder whatever the tap says to decode; rounds alternate, so both see the same load.

    $ python -m bench bench_forward
"""

from __future__ import annotations

import asyncio
import fractions
import os
import time

WIDTH, HEIGHT, FPS = 640, 480, 30
FRAMES = 150  # five seconds of video; the first is a keyframe, as at a call's start
ROUNDS = 5
START_BITRATE = 1_500_000  # appliance/call.py's START_BITRATE_KBPS: what the advisor's browser starts at
SENSOR_NOISE = 6  # levels of 255
TARGET_RATIO = 0.5


def _encoded() -> list[bytes]:
    import av
    import numpy as np
    from aiortc.codecs import depayload, get_encoder
    from aiortc.rtcrtpparameters import RTCRtpCodecParameters

    from hw.synthetic import pattern_image

    codec = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90_000, payloadType=96)
    encoder = get_encoder(codec)
    encoder.target_bitrate = START_BITRATE
    out, base, rng = [], time.time(), np.random.default_rng(20)
    for i in range(FRAMES):
        # A webcam's sensor noise: the encoder spends the start rate as on a real face (the bare
        # test pattern encodes to a few hundred bytes, which decode in no time).
        noise = rng.integers(-SENSOR_NOISE, SENSOR_NOISE + 1, (HEIGHT, WIDTH, 3))
        image = np.clip(pattern_image(WIDTH, HEIGHT, i, base + i / FPS) + noise, 0, 255).astype(np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = i * 90_000 // FPS, fractions.Fraction(1, 90_000)
        payloads, _timestamp = encoder.encode(frame)
        out.append(b"".join(depayload(codec, payload) for payload in payloads))
    return out


async def _replay(frames: list[bytes], skip: bool) -> tuple[float, int]:
    """CPU seconds of this process for the booth's part of ``frames``, and how many it decoded."""
    from aiortc import RTCPeerConnection
    from aiortc.codecs import get_decoder
    from aiortc.jitterbuffer import JitterFrame
    from aiortc.mediastreams import VideoStreamTrack
    from aiortc.rtp import RtpPacket
    from aiortc.sdp import SessionDescription

    from rtc.forward import EncodedVideo

    pc = RTCPeerConnection()  # the booth's, offering to receive VP8
    transceiver = pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    vp8 = next(c for c in SessionDescription.parse(pc.localDescription.sdp).media[0].rtp.codecs if c.mimeType == "video/VP8")
    decoder = get_decoder(vp8)
    video = EncodedVideo(pc, transceiver, may_skip_decoding=skip)
    page = video.subscribe("video/VP8", VideoStreamTrack())
    decoded = 0
    started = time.process_time()
    for n, data in enumerate(frames):
        frame = JitterFrame(data=data, timestamp=n * 90_000 // FPS)
        if video.tap([RtpPacket(payload_type=vp8.payloadType, sequence_number=n + 1, ssrc=1234)], frame):
            decoded += len(decoder.decode(frame))
        await page.recv()  # the page's sender takes it
    spent = time.process_time() - started
    page.stop()
    video.close()
    await pc.close()
    return spent, decoded


def measure(rounds: int = ROUNDS) -> dict[str, list[float]]:
    frames = _encoded()
    out: dict[str, list[float]] = {"forwarding": [], "decoding": [], "decoded": [], "bytes": [sum(map(len, frames)) / len(frames)]}

    async def both() -> None:
        for _ in range(rounds):
            for name, skip in (("decoding", False), ("forwarding", True)):
                spent, decoded = await _replay(frames, skip)
                out[name].append(1000 * spent / len(frames))
                if skip:
                    out["decoded"].append(decoded)

    asyncio.run(both())
    return out


def run() -> list[dict]:
    import statistics

    m = measure()
    ours, base = statistics.median(m["forwarding"]), statistics.median(m["decoding"])
    return [{"name": "booth CPU per advisor frame while forwarding it to the kiosk: keyframes decoded vs every frame",
             "value": round(ours, 3), "unit": "cpu ms", "baseline": round(base, 3), "ratio": round(ours / base, 2),
             "target": f"<= {TARGET_RATIO}x", "ok": ours / base <= TARGET_RATIO, "frames": FRAMES,
             "decoded_while_forwarding": max(m["decoded"]),
             "mean_frame_bytes": round(m["bytes"][0]), "rounds": ROUNDS, "size": f"{WIDTH}x{HEIGHT}",
             "load_avg": round(os.getloadavg()[0], 1)}]


if __name__ == "__main__":
    print(run())
