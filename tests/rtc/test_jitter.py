"""The jitter buffers: a video frame leaves with its last packet, not one frame later; an audio
packet the moment it comes in."""

from __future__ import annotations

import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import VideoStreamTrack
from aiortc.rtp import RtpPacket

from rtc.jitter import MarkerJitterBuffer, PromptAudioJitterBuffer, use_marker_jitter_buffer, use_prompt_audio_jitter_buffer


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
