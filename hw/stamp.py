"""A frame's capture time as a row of black and white blocks, readable after a lossy video codec.

The synthetic camera paints it across the top of every picture; ``make bench`` paints the same row
into a browser's canvas (bench/glass_js.py, from the constants here) and reads it back from what a
``<video>`` shows, so the time from capture to screen is measured the same way in every direction.

Layout, left to right across the full width: a white and a black guard block (they give the
reader its threshold and tell a stamp from any picture), ``VALUE_BITS`` blocks of the capture time
in milliseconds modulo ``2**VALUE_BITS`` (most significant bit first), then ``CHECK_BITS`` blocks of
the value's count of one bits: a frame blended from two stamps fails the check. Block height is
``ROW_FRACTION`` of the picture height; white is 235 and black 16 (video range).

Example::

    >>> img = np.zeros((480, 640, 3), np.uint8)
    >>> paint_stamp(img, 1_700_000_000_123)
    >>> read_stamp(img) == 1_700_000_000_123 % MODULUS
    True
"""

from __future__ import annotations

import numpy as np

VALUE_BITS = 24  # 2**24 ms is 4.6 hours: far longer than any latency, so unwrapping is unambiguous
CHECK_BITS = 5  # a count of up to 24 one bits
BLOCKS = 2 + VALUE_BITS + CHECK_BITS
MODULUS = 1 << VALUE_BITS
ROW_FRACTION = 1 / 12
WHITE, BLACK = 235, 16
MIN_CONTRAST = 60  # guard blocks closer than this: not a stamp (or a picture too damaged to read)


def stamp_bits(ms: int) -> list[int]:
    """The blocks' values (1 white, 0 black) for a capture time ``ms`` (epoch milliseconds)."""
    value = int(ms) % MODULUS
    check = bin(value).count("1")
    return [1, 0] + [(value >> i) & 1 for i in reversed(range(VALUE_BITS))] + [(check >> i) & 1 for i in reversed(range(CHECK_BITS))]


def block_edges(width: int) -> list[int]:
    """x where each block starts, plus the width (blocks share the width as evenly as pixels allow)."""
    return [i * width // BLOCKS for i in range(BLOCKS + 1)]


def row_height(height: int) -> int:
    return max(1, round(height * ROW_FRACTION))


def paint_stamp(img: np.ndarray, ms: int) -> None:
    """Paint the stamp of ``ms`` into the top rows of ``img`` (H x W x C or H x W, uint8) in place."""
    edges, h = block_edges(img.shape[1]), row_height(img.shape[0])
    for i, bit in enumerate(stamp_bits(ms)):
        img[:h, edges[i] : edges[i + 1]] = WHITE if bit else BLACK


def read_stamp(img: np.ndarray) -> int | None:
    """The value (ms modulo :data:`MODULUS`) stamped in ``img``, or None if none is readable."""
    luma = img.astype(np.float32) if img.ndim == 2 else img[..., :3].astype(np.float32).mean(axis=2)
    edges, h = block_edges(luma.shape[1]), row_height(luma.shape[0])
    levels = []
    for i in range(BLOCKS):
        # The middle half of each block: codecs smear the edges between blocks.
        x0, x1 = edges[i], edges[i + 1]
        quarter_x, quarter_y = max(0, (x1 - x0) // 4), h // 4
        levels.append(float(luma[quarter_y : h - quarter_y, x0 + quarter_x : x1 - quarter_x].mean()))
    white, black = levels[0], levels[1]
    if white - black < MIN_CONTRAST:
        return None
    threshold = (white + black) / 2
    bits = [1 if level > threshold else 0 for level in levels[2:]]
    value = int("".join(map(str, bits[:VALUE_BITS])), 2)
    check = int("".join(map(str, bits[VALUE_BITS:])), 2)
    return value if check == bin(value).count("1") else None


def latency_ms(stamped: int, now_ms: float) -> float:
    """Milliseconds from a stamp's capture time to ``now_ms`` (both on the same wall clock).

    Slightly negative results stay negative (two clocks' rounding), not 4.6 hours.
    """
    elapsed = (now_ms - stamped) % MODULUS
    return elapsed - MODULUS if elapsed > MODULUS / 2 else elapsed
