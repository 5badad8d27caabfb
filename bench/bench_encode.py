"""CPU seconds per second of call for the booth's sending process, by video path.

Sends 640x480 at 30 fps from one aiortc peer (this process) to another in a child process (which
decodes, so the call is real), and measures this process's CPU time only, all threads included:

- ``vp8``: frames encoded in software (libvpx), as on a booth whose camera cannot encode;
- ``h264``: frames encoded in software (libx264);
- ``passthrough``: pre-encoded H.264 packets packed without decode/re-encode, standing in for a Pi 4
  camera's hardware encoder or a UVC H.264 webcam.

The raw frames are prepared once in memory before measuring, so the camera costs nothing in any
mode and the numbers compare the encode paths alone. All three run in the same invocation; the
target is a ratio (passthrough under a quarter of software H.264), never an absolute time.

    $ python bench/bench_encode.py          # prints a table; `make bench` collects run()
"""

from __future__ import annotations

import asyncio
import fractions
import json
import os
import sys
import time

WIDTH, HEIGHT, FPS = 640, 480, 30
MEASURE_S = 6.0
WARMUP_S = 2.0
TARGET_RATIO = 0.25


def _frames(count: int):
    import av

    from hw.synthetic import pattern_image

    base = time.time()
    return [
        av.VideoFrame.from_ndarray(pattern_image(WIDTH, HEIGHT, i, base + i / FPS), format="rgb24").reformat(format="yuv420p")
        for i in range(count)
    ]


def _frame_loop_track(frames):
    import av
    from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

    class FrameLoopTrack(MediaStreamTrack):
        kind = "video"

        def __init__(self) -> None:
            super().__init__()
            self._index, self._start = 0, None

        async def recv(self):
            if self.readyState != "live":
                raise MediaStreamError
            self._start = self._start or time.monotonic()
            delay = self._start + self._index / FPS - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing a live source
            src = frames[self._index % len(frames)]
            frame = av.VideoFrame(src.width, src.height, "yuv420p")
            for dst_plane, src_plane in zip(frame.planes, src.planes):
                dst_plane.update(bytes(src_plane))
            frame.pts, frame.time_base = self._index, fractions.Fraction(1, FPS)
            self._index += 1
            return frame

    return FrameLoopTrack()


async def _receiver() -> None:
    """Child process: answer the offer from stdin, decode every frame, report the count at EOF."""
    from aiortc import RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import MediaStreamError

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    offer = json.loads(await reader.readline())
    pc = RTCPeerConnection()
    counts = {"frames": 0}

    async def consume(track) -> None:
        try:
            while True:
                await track.recv()
                counts["frames"] += 1
        except MediaStreamError:
            return

    pc.on("track", lambda track: asyncio.ensure_future(consume(track)))
    await pc.setRemoteDescription(RTCSessionDescription(**offer))
    await pc.setLocalDescription(await pc.createAnswer())
    print(json.dumps({"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}), flush=True)
    await reader.readline()  # the sender closes stdin when done
    print(json.dumps(counts), flush=True)
    await pc.close()


async def _measure(mode: str, frames, access_units) -> dict:
    from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription

    from hw.encoded import PrerecordedH264Track

    child = await asyncio.create_subprocess_exec(
        sys.executable, os.path.abspath(__file__), "--receiver",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    pc = RTCPeerConnection()
    track = PrerecordedH264Track(access_units, FPS) if mode == "passthrough" else _frame_loop_track(frames)
    transceiver = pc.addTransceiver(track, direction="sendonly")
    mime = "video/VP8" if mode == "vp8" else "video/H264"
    transceiver.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == mime])
    try:
        await pc.setLocalDescription(await pc.createOffer())
        child.stdin.write((json.dumps({"sdp": pc.localDescription.sdp, "type": "offer"}) + "\n").encode())
        await child.stdin.drain()
        answer = json.loads(await asyncio.wait_for(child.stdout.readline(), 30))
        await pc.setRemoteDescription(RTCSessionDescription(**answer))
        await asyncio.sleep(WARMUP_S)  # let the bitrate settle before the clock starts
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(MEASURE_S)  # the measured stretch of call
        cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
        child.stdin.write(b"done\n")
        await child.stdin.drain()
        received = json.loads(await asyncio.wait_for(child.stdout.readline(), 30))["frames"]
    finally:
        await pc.close()
        if child.returncode is None:
            child.stdin.close()
            try:
                await asyncio.wait_for(child.wait(), 10)
            except TimeoutError:
                child.kill()
    return {"mode": mode, "cpu_s_per_s": cpu, "frames_received": received}


async def _run_all() -> list[dict]:
    from hw.encoded import encode_test_pattern

    frames = _frames(FPS * 2)
    access_units = encode_test_pattern(WIDTH, HEIGHT, FPS)
    return [await _measure(mode, frames, access_units) for mode in ("vp8", "h264", "passthrough")]


def run() -> list[dict]:
    """Rows for `make bench`: name, value, unit, baseline, ratio, target, ok.

    Software H.264 is the baseline the passthrough row is compared with, measured in this run.
    """
    try:
        measured = {m["mode"]: m for m in asyncio.run(_run_all())}
    except Exception as exc:  # one broken benchmark must not take the others' table down
        return [{"name": f"encode.{mode}", "value": None, "unit": f"failed: {type(exc).__name__}: {exc}",
                 "baseline": None, "ratio": None, "target": None, "ok": False} for mode in ("vp8", "h264", "passthrough")]
    # A call that delivered nothing measured nothing: require most of the frames to arrive.
    min_frames = int((WARMUP_S + MEASURE_S) * FPS * 0.5)
    baseline = measured["h264"]["cpu_s_per_s"]
    rows = []
    for mode in ("vp8", "h264", "passthrough"):
        m = measured[mode]
        arrived = m["frames_received"] >= min_frames
        row = {
            "name": f"encode.{mode}",
            "value": round(m["cpu_s_per_s"], 3),
            "unit": f"CPU s/s sender {WIDTH}x{HEIGHT}@{FPS} ({m['frames_received']} frames arrived)",
            "baseline": None,
            "ratio": None,
            "target": None,
            "ok": arrived,
        }
        if mode == "passthrough":
            ratio = m["cpu_s_per_s"] / max(baseline, 1e-9)
            row.update(baseline=round(baseline, 3), ratio=round(ratio, 3), target=f"ratio < {TARGET_RATIO}",
                       ok=arrived and ratio < TARGET_RATIO)
        rows.append(row)
    return rows


def main() -> int:
    if "--receiver" in sys.argv:
        asyncio.run(_receiver())
        return 0
    rows = run()
    for row in rows:
        ratio = f"ratio {row['ratio']}" if row["ratio"] is not None else ""
        print(f"{row['name']:<20} {str(row['value']):>7}  {ratio:<12} {row['target'] or '':<14} "
              f"{'ok' if row['ok'] else 'FAIL':<4}  {row['unit']}")
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
