"""The jitter buffers: a video frame leaves with its last packet, not one frame later; an audio
packet the moment it comes in."""

from __future__ import annotations

import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import VIDEO_CLOCK_RATE, VideoStreamTrack
from aiortc.rtp import RtpPacket

from rtc.jitter import MAX_HOLE_S, MarkerJitterBuffer, PromptAudioJitterBuffer, use_marker_jitter_buffer, use_prompt_audio_jitter_buffer


def packet(seq: int, ts: int, data: bytes, marker: bool = False) -> RtpPacket:
    p = RtpPacket(payload_type=97, sequence_number=seq, timestamp=ts, marker=int(marker))
    p._data = data
    return p


def test_frame_leaves_with_its_marked_last_packet():
    jb = MarkerJitterBuffer()
    assert jb.add(packet(100, 9000, b"a"))[1] is None
    frame = jb.add(packet(101, 9000, b"b", marker=True))[1]
    assert frame is not None and frame.data == b"ab" and frame.timestamp == 9000
    assert jb.add(packet(102, 12000, b"c", marker=True))[1].data == b"c"


def test_a_gap_holds_the_frame_back():
    jb = MarkerJitterBuffer()
    jb.add(packet(100, 9000, b"a"))
    assert jb.add(packet(102, 9000, b"c", marker=True))[1] is None
    assert jb.add(packet(101, 9000, b"b"))[1].data == b"abc"


FRAME_TICKS = VIDEO_CLOCK_RATE // 30  # one frame at 30 fps, in RTP time
HOLE_FRAMES = int(MAX_HOLE_S * 30)  # frames that come in MAX_HOLE_S


def calm_picture(jb: MarkerJitterBuffer, frames: range, lost: set[int] = frozenset()) -> list[tuple[int, bool, bytes | None]]:
    """One packet a frame (a calm picture) from sequence number 1000 on, ``lost`` ones never in:
    (frame, picture loss asked for, what left the buffer) for each packet that came."""
    out = []
    for i in frames:
        if i in lost:
            continue
        pli, frame = jb.add(packet(1000 + i, 9000 + i * FRAME_TICKS, bytes([i]), marker=True))
        out.append((i, pli, frame.data if frame else None))
    return out


def test_a_packet_lost_for_good_holds_the_picture_back_half_a_second_then_asks_for_a_keyframe():
    # aiortc asks for a lost packet once: lost again, its own rule held every frame behind it until
    # 512 packets were in (17 s at one packet a frame), as a CI run saw.
    jb = MarkerJitterBuffer()
    out = calm_picture(jb, range(10 + HOLE_FRAMES + 5), lost={10})
    assert out[:10] == [(i, False, bytes([i])) for i in range(10)]
    held = [o for o in out if 10 < o[0] < 11 + HOLE_FRAMES]
    assert held and all(o[1:] == (False, None) for o in held)  # a retransmission may still come
    given_up = out[len(held) + 10]
    assert given_up == (11 + HOLE_FRAMES, True, bytes([11 + HOLE_FRAMES]))  # the latest, and a PLI
    assert out[len(held) + 11:] == [(i, False, bytes([i])) for i in range(12 + HOLE_FRAMES, 15 + HOLE_FRAMES)]


def test_a_retransmission_within_the_wait_fills_the_hole_as_before():
    jb = MarkerJitterBuffer()
    calm_picture(jb, range(10))
    calm_picture(jb, range(11, 10 + HOLE_FRAMES))  # just under MAX_HOLE_S
    pli, frame = jb.add(packet(1010, 9000 + 10 * FRAME_TICKS, bytes([10]), marker=True))
    assert (pli, frame.data) == (False, bytes([10]))
    # The frames behind it leave one per packet, none dropped, no keyframe asked for.
    assert calm_picture(jb, range(10 + HOLE_FRAMES, 13 + HOLE_FRAMES))[0] == (10 + HOLE_FRAMES, False, bytes([11]))


def test_a_sender_that_starts_over_is_no_hole():
    jb = MarkerJitterBuffer()
    calm_picture(jb, range(5))
    # Sequence numbers from elsewhere (aiortc's buffer begins afresh), timestamps far on, two
    # packets a frame: each frame leaves with its second packet, nothing given up or asked for.
    out = []
    for i in range(HOLE_FRAMES + 3):
        ts = 10**9 + i * FRAME_TICKS
        out.append(jb.add(packet(40_000 + 2 * i, ts, b"a")))
        out.append(jb.add(packet(40_001 + 2 * i, ts, bytes([i]), marker=True)))
    expected = [x for i in range(HOLE_FRAMES + 3) for x in ((False, None), (False, b"a" + bytes([i])))]
    expected[0] = (True, None)  # aiortc's own keyframe request when a sender starts over
    assert [(pli, frame.data if frame else None) for pli, frame in out] == expected


def test_without_marker_bits_the_next_frame_completes_it_as_before():
    jb = MarkerJitterBuffer()
    jb.add(packet(100, 9000, b"a"))
    jb.add(packet(101, 9000, b"b"))
    assert jb.add(packet(102, 12000, b"c"))[1].data == b"ab"


@pytest.mark.parametrize(("swap", "kinds"), [
    (use_marker_jitter_buffer, {"video": "MarkerJitterBuffer", "audio": "JitterBuffer"}),
    (use_prompt_audio_jitter_buffer, {"video": "JitterBuffer", "audio": "PromptAudioJitterBuffer"}),
])
async def test_each_buffer_goes_into_its_own_kind_of_receiver_only(swap, kinds):
    pc = RTCPeerConnection()
    pc.addTrack(VideoStreamTrack())
    pc.addTransceiver("audio")
    assert swap(pc)
    assert {t.kind: type(getattr(t.receiver, "_RTCRtpReceiver__jitter_buffer")).__name__ for t in pc.getTransceivers()} == kinds
    await pc.close()


def test_an_audio_packet_leaves_the_moment_it_comes_in():
    jb = PromptAudioJitterBuffer()
    assert jb.add(packet(100, 960, b"a"))[1].data == b"a"
    assert jb.add(packet(101, 1920, b"b"))[1].data == b"b"


def test_a_lost_audio_packet_holds_nothing_back_and_a_late_one_is_dropped():
    jb = PromptAudioJitterBuffer()
    jb.add(packet(100, 960, b"a"))
    assert jb.add(packet(102, 2880, b"c"))[1].data == b"c"  # 101 lost: not waited for
    assert jb.add(packet(101, 1920, b"b"))[1] is None  # after 102 was played: too late
    assert jb.add(packet(103, 3840, b"d"))[1].data == b"d"
