"""The capture-time stamp (hw/stamp.py) survives a real VP8 round trip and refuses what it is not."""

from __future__ import annotations

import fractions

import av
import numpy as np

from hw.stamp import MODULUS, latency_ms, paint_stamp, read_stamp
from hw.synthetic import looks_like_test_pattern, pattern_image


def test_stamp_reads_back_exactly():
    for ms in (0, 1, 1_700_000_000_123, MODULUS - 1, 2**40 + 12345):
        img = np.full((480, 640, 3), 128, np.uint8)
        paint_stamp(img, ms)
        assert read_stamp(img) == ms % MODULUS


def test_a_picture_without_stamp_or_a_corrupted_one_reads_as_none():
    assert read_stamp(np.full((240, 320, 3), 128, np.uint8)) is None
    img = np.zeros((240, 320), np.uint8)
    paint_stamp(img, 12345)
    blocks = [i * 320 // 31 for i in range(32)]
    x = (blocks[5] + blocks[6]) // 2
    img[:20, x - 2 : x + 3] = 235 - img[:20, x - 2 : x + 3] + 16  # flip one value bit: the check catches it
    assert read_stamp(img) is None


def test_stamp_survives_vp8_and_keeps_the_test_pattern():
    now = 1_700_000_000.123
    rgb = pattern_image(640, 480, 3, now)
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 640, 480, "yuv420p"
    encoder.bit_rate, encoder.time_base = 500_000, fractions.Fraction(1, 30)
    decoder = av.CodecContext.create("libvpx", "r")
    frames = []
    for i in range(3):
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        for packet in encoder.encode(frame):
            frames += decoder.decode(packet)
    assert frames
    decoded = frames[-1]
    assert read_stamp(decoded.to_ndarray(format="rgb24")) == round(now * 1000) % MODULUS
    assert looks_like_test_pattern(decoded)


def test_latency_unwraps_and_tolerates_rounding():
    assert latency_ms(MODULUS - 10, MODULUS * 3 + 30) == 40
    assert latency_ms(500, 499.5) == -0.5
