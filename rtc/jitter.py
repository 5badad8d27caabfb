"""Jitter buffers that hand a frame on as soon as it is complete: video and audio.

aiortc's :class:`~aiortc.jitterbuffer.JitterBuffer` only knows a video frame is complete when the
first packet of the *next* frame arrives, so every frame (the first one included) waits one frame
interval, 33 ms at 30 fps, before it is decoded. RTP marks the last packet of a video frame with
the marker bit (RFC 7741 for VP8, RFC 6184 for H.264); this buffer uses it, and falls back to
aiortc's rule for a sender that does not set it.

aiortc's audio buffer holds four 20 ms packets (``prefetch=4``) before it lets the oldest go: 80 ms
of every word the advisor says, on top of the booth's own mixer buffer (rtc/audiomix.py, 40 ms,
which is what rides out network jitter here). :class:`PromptAudioJitterBuffer` hands each packet on
the moment it comes in (an Opus packet is a whole frame); one that comes after a later one is
dropped, as aiortc drops any that come after it let one go. aiortc's buffer, worse, waits for a
lost packet (audio is never asked for again) until 16 more are in, and then stays that far behind.

A video packet that is lost for good (its retransmission lost too: aiortc asks once) held aiortc's
buffer, and every frame behind it, until 512 more packets were in: a calm picture comes in one or
two packets a frame, so the advisor's face stood still on the booth for 8 to 17 s (a CI run saw
it). :class:`MarkerJitterBuffer` gives such a hole up after :data:`MAX_HOLE_S` and asks the
sender for a keyframe, the frames after the hole being undecodable without what was lost.

:func:`use_marker_jitter_buffer` swaps the video one into one peer connection's video receivers,
:func:`use_prompt_audio_jitter_buffer` the audio one into its audio receivers. The receiver keeps
its buffer in a private attribute, so the swap is checked and skipped (with a log line) if a future
aiortc renames it; the call then simply works as before.

Example::

    pc = RTCPeerConnection(config)
    pc.addTrack(camera_track)                  # creates the transceivers and their receivers
    use_marker_jitter_buffer(pc)               # before any packet arrives
    use_prompt_audio_jitter_buffer(pc)
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiortc import RTCPeerConnection, RTCRtpTransceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.mediastreams import VIDEO_CLOCK_RATE  # the RTP clock of every video payload format
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add, uint16_gt

log = logging.getLogger("videokiosk.jitter")
_ATTRIBUTE = "_RTCRtpReceiver__jitter_buffer"  # where aiortc's RTCRtpReceiver keeps it
AUDIO_CAPACITY = 16  # packets, as aiortc's own audio buffer: 320 ms of 20 ms packets
# How long a hole in the video may hold back the frames behind it, in the sender's time (its RTP
# clock). aiortc asks for a lost packet once, when the loss shows: the retransmission is in one
# round trip later or never. Half a second is several round trips on any network a booth stands on.
MAX_HOLE_S = 0.5
#: Sees each complete frame with the packets it came in (rtc/forward.py forwards it still encoded);
#: returns whether the receiver decodes the frame as well (False: the buffer hands it no frame).
Tap = Callable[[list[RtpPacket], JitterFrame], bool]


class MarkerJitterBuffer(JitterBuffer):
    def __init__(self, capacity: int = 512, tap: Tap | None = None) -> None:
        super().__init__(capacity=capacity, is_video=True)
        self._tap = tap
        self._highest: int | None = None  # the sequence number of the latest packet in the buffer
        self._hole_since: int | None = None  # RTP timestamp of the latest packet when the hole showed
        self._picture_lost = False  # a hole was given up: add() asks the sender for a keyframe

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        pli, frame = super().add(packet)
        if self._picture_lost:
            self._picture_lost = False
            pli = True  # aiortc's receiver sends a picture loss indication
        return pli, frame

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        self._note_latest(sequence_number)
        while isinstance(packets := self._first_frame(), int):
            if not self._hole_given_up(missing=packets):
                return None
        self._hole_since = None
        self.remove(len(packets))
        frame = JitterFrame(data=b"".join(p._data for p in packets), timestamp=packets[0].timestamp)
        if self._tap is not None and not self._tap(packets, frame):
            return None  # aiortc's receiver decodes what add() returns, and nothing when it is None
        return frame

    def _note_latest(self, sequence_number: int) -> None:
        ahead = None if self._highest is None else uint16_add(self._highest, -self._origin)
        # A sender that started over (aiortc's buffer then begins afresh) leaves no latest behind.
        if ahead is None or ahead >= self._capacity or uint16_gt(sequence_number, self._highest):
            self._highest = sequence_number

    def _slot(self, count: int) -> RtpPacket | None:
        """The packet ``count`` sequence numbers after the origin, if it is in."""
        return self._packets[(self._origin + count) % self._capacity]

    def _first_frame(self) -> list[RtpPacket] | int:
        """The packets of the frame at the origin if it is complete, else how many packets after
        the origin the first one still missing is."""
        packets = []
        timestamp = None
        for count in range(self.capacity):
            packet = self._slot(count)
            if packet is None:
                return count  # wait for the missing packet (see _hole_given_up)
            if timestamp is None:
                timestamp = packet.timestamp
            elif packet.timestamp != timestamp:
                break  # the next frame began: the one before is complete (aiortc's own rule)
            packets.append(packet)
            if packet.marker:
                break  # the frame's last packet
        else:
            return self.capacity
        return packets

    def _hole_given_up(self, missing: int) -> bool:
        """Whether the frames held back by a missing packet were dropped, all but the latest one
        (True: it may be complete). Not before MAX_HOLE_S has passed since the hole showed."""
        ahead = uint16_add(self._highest, -self._origin)
        if missing > ahead:
            self._hole_since = None
            return False  # no hole: the frame's next packet is simply not in yet
        latest = self._slot(ahead).timestamp
        if self._hole_since is None:
            self._hole_since = latest
        waited = (latest - self._hole_since) % 2**32
        if waited >= 2**31 or waited < MAX_HOLE_S * VIDEO_CLOCK_RATE:  # (a later timestamp, reordered: not yet)
            return False
        if (first := self._slot(0)) is not None and first.timestamp == latest:
            return False  # the hole is in the latest frame: nothing before it to give up
        # All but the latest frame go: they refer to what was lost, and kept they would leave one
        # per packet (aiortc takes one frame per packet from a buffer), the picture late for good.
        while (first := self._slot(0)) is None or first.timestamp != latest:
            self.remove(1)
        self._hole_since = None
        self._picture_lost = True
        return True


class PromptAudioJitterBuffer(JitterBuffer):
    """Each audio packet leaves the moment it comes in; any still missing before it are given up."""

    def __init__(self, capacity: int = AUDIO_CAPACITY) -> None:
        super().__init__(capacity=capacity, prefetch=0, is_video=False)

    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        # add() stored the packet at or after the origin (one from before it is dropped there).
        self.remove(uint16_add(sequence_number, -self._origin))
        packet = self._packets[self._origin % self._capacity]
        self.remove(1)
        return JitterFrame(data=packet._data, timestamp=packet.timestamp)


def use_marker_jitter_buffer(pc: RTCPeerConnection, tap_for: Callable[[RTCRtpTransceiver], Tap] | None = None) -> bool:
    """Give every video receiver of ``pc`` a :class:`MarkerJitterBuffer`; False if not possible.

    ``tap_for(transceiver)``: the tap of that transceiver's buffer (none without it).
    """
    video = [t for t in pc.getTransceivers() if t.kind == "video"]
    if not all(isinstance(getattr(t.receiver, _ATTRIBUTE, None), JitterBuffer) for t in video):
        log.warning("aiortc's receiver has no %s any more: keeping its own jitter buffer", _ATTRIBUTE)
        return False
    for transceiver in video:
        setattr(transceiver.receiver, _ATTRIBUTE, MarkerJitterBuffer(tap=tap_for(transceiver) if tap_for else None))
    return bool(video)


def use_prompt_audio_jitter_buffer(pc: RTCPeerConnection) -> bool:
    """Give every audio receiver of ``pc`` a :class:`PromptAudioJitterBuffer`; False if not possible."""
    audio = [t for t in pc.getTransceivers() if t.kind == "audio"]
    if not all(isinstance(getattr(t.receiver, _ATTRIBUTE, None), JitterBuffer) for t in audio):
        log.warning("aiortc's receiver has no %s any more: keeping its own audio jitter buffer", _ATTRIBUTE)
        return False
    for transceiver in audio:
        setattr(transceiver.receiver, _ATTRIBUTE, PromptAudioJitterBuffer())
    return bool(audio)
