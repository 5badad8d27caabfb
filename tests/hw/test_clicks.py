"""Clicks on the wall clock's beat (hw/clicks.py): made in a tone, found again where it is played."""

from __future__ import annotations

import asyncio

import numpy as np

from hw.clicks import PERIOD_S, ClickingTrack, OnsetFinder, add_clicks, latency_s, onsets
from hw.levels import samples_of
from hw.tone import SAMPLE_RATE, ToneTrack, tone_samples


def test_a_click_is_found_at_the_sample_of_its_beat_even_in_a_loud_tone():
    block = tone_samples(440, -12, 0, 4800)  # louder than any fake voice (the fakes speak at -20 dBFS)
    add_clicks(block, first_sample_s=100 * PERIOD_S - 0.05, sample_rate=SAMPLE_RATE)
    assert onsets(block) == [2400]


def test_the_tone_alone_and_the_tail_of_a_click_are_no_clicks():
    assert onsets(tone_samples(440, -12, 0, 48000)) == []
    finder = OnsetFinder()
    start = 7 * PERIOD_S - 0.0005  # the click begins in this block and goes on in the next
    for n in range(3):
        block = np.zeros(960, np.float32)
        add_clicks(block, start + n * 0.02, SAMPLE_RATE)
        finder.feed(block, start + n * 0.02)
    assert len(finder.heard) == 1 and _off_beat(finder.heard[0]) < 1e-4


def test_a_clicking_track_clicks_on_the_beat_of_its_clock():
    clock = {"now": 0.0}

    async def heard() -> list[float]:
        track = ClickingTrack(ToneTrack(level_dbfs=-20), now=lambda: clock["now"])
        finder = OnsetFinder()
        for n in range(40):
            clock["now"] = 3.0 + (n + 1) * 0.02  # the frame handed over now holds the 20 ms before
            finder.feed(samples_of(await track.recv()), clock["now"] - 0.02)
        return finder.heard

    times = asyncio.run(heard())
    assert len(times) == 2 and all(_off_beat(t) < 1e-4 for t in times)  # 3.0 s and 3.5 s


def _off_beat(t: float) -> float:
    return min(latency_s(t), PERIOD_S - latency_s(t))
