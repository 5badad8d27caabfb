"""The consent's two media promises, proven on the whole system (real hub, real booth daemon, real
kiosk page and advisor in Chromium):

- in the waiting room no audio or video is transmitted at all: the booth holds no peer connection
  and not a single UDP socket (RTP cannot leave without one), and the kiosk's loopback is closed;
- nothing is recorded: during a call with media flowing both ways, the booth's process opens no file
  for writing except its SQLite store, and no media container is opened for output.

Each check is shown to be able to fail: the same detectors see the call's UDP sockets and would
see a file written during the call (``test_the_write_detector_sees_a_file_written``).
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
import threading
from pathlib import Path

import av
import pytest
from playwright.sync_api import expect

from .harness import advisor_sees_test_pattern, kiosk_to_waiting, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MAX_CELL_CHARS = 1000  # a walk-in call stores short fields only; a second of media is far longer
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def udp_sockets_of_this_process() -> set[int]:
    """Inodes of the UDP sockets this process holds (aiortc's ICE transports are UDP)."""
    held = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed while listing
        match = re.fullmatch(r"socket:\[(\d+)\]", target)
        if match:
            held.add(int(match.group(1)))
    udp = set()
    for table in ("/proc/self/net/udp", "/proc/self/net/udp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        udp.update(int(line.split()[9]) for line in lines)
    return held & udp


class WriteRecorder:
    """Records every file this process opens for writing while armed (Python audit events)."""

    _installed: "WriteRecorder | None" = None

    def __init__(self) -> None:
        self.armed = False
        self.paths: list[str] = []
        self._lock = threading.Lock()

    @classmethod
    def get(cls) -> "WriteRecorder":
        # An audit hook cannot be removed again: install one per test process and arm it per test.
        if cls._installed is None:
            cls._installed = WriteRecorder()
            sys.addaudithook(cls._installed._hook)
        return cls._installed

    def _hook(self, event: str, args: tuple) -> None:
        if not self.armed or event != "open":
            return
        path, mode, flags = args
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & _WRITE_FLAGS)
        if writes and not isinstance(path, int):
            with self._lock:
                self.paths.append(os.fsdecode(path))


def _allowed(path: str, data_dir: Path) -> bool:
    p = Path(path)
    # The SQLite stores (and their journals) hold the consented fields; compiled modules are
    # Python's own cache, written when a module is imported for the first time.
    return (p.parent == data_dir and re.fullmatch(r"(booth-\d+|hub)\.db(-wal|-shm|-journal)?", p.name) is not None) \
        or p.suffix == ".pyc"


def test_waiting_room_transmits_nothing_and_the_call_does(stack, advisor_context, kiosk_context):
    kiosk = kiosk_context.new_page()
    kiosk_to_waiting(kiosk, stack.booth.url)
    expect(kiosk.get_by_text("Aktuell wird weder Audio noch Video übertragen.")).to_be_visible()
    stack.lt.run(stack.booth.daemon.loopback.idle.wait(), 10)  # the self-view ended with the check

    # Asked of the booth's own loop, so no call set-up can slip in between the three looks.
    async def waiting_room() -> tuple[str, object, bool, set[int]]:
        return (stack.booth.session.state, stack.booth.call._pc, stack.booth.daemon.loopback.active,
                udp_sockets_of_this_process())

    state, pc, loopback_active, udp = stack.lt.run(waiting_room())
    assert state == "waiting"
    assert pc is None, "a peer connection exists in the waiting room"
    assert not loopback_active, "the kiosk still receives the camera in the waiting room"
    assert udp == set(), f"the booth holds UDP sockets in the waiting room: {udp}"

    advisor = advisor_context.new_page()
    log_in(advisor, stack.hub_url)
    advisor.get_by_role("row").filter(has_text="Kiosk 1").get_by_role("button", name="Eintreten lassen").click()
    stack.wait_state("call")
    advisor_sees_test_pattern(advisor)
    # The same detector sees the call's media sockets: it is not blind.
    assert stack.lt.run(waiting_room())[3], "no UDP socket during the call: the detector is broken"


def test_nothing_is_recorded_during_a_call(stack, advisor_context, kiosk_context, monkeypatch):
    outputs: list[str] = []
    real_open = av.open

    def watched_open(file, mode="r", **kwargs):
        if "w" in mode and kwargs.get("format") != "alsa":  # a sound card is not a file
            outputs.append(str(file))
        return real_open(file, mode, **kwargs)

    monkeypatch.setattr(av, "open", watched_open)
    recorder = WriteRecorder.get()
    kiosk = kiosk_context.new_page()
    kiosk_to_waiting(kiosk, stack.booth.url)
    advisor = advisor_context.new_page()
    log_in(advisor, stack.hub_url)

    recorder.paths.clear()
    recorder.armed = True
    try:
        advisor.get_by_role("row").filter(has_text="Kiosk 1").get_by_role("button", name="Eintreten lassen").click()
        stack.wait_state("call")
        advisor_sees_test_pattern(advisor)
        stack.wait_booth_frames(10)
        stack.lt.run(stack.booth.speaker.wait_played(48000), 20)  # a second of the advisor's voice
        advisor.get_by_role("button", name="Beenden").click()
        expect(kiosk.get_by_role("heading", name="Kurze Umfrage")).to_be_visible()
    finally:
        recorder.armed = False

    written = [p for p in recorder.paths if not _allowed(p, stack.data_dir)]
    assert written == [], f"files written during the call: {written}"
    assert outputs == [], f"media containers opened for output: {outputs}"
    # The SQLite files may be written, but hold nothing a recording could hide in: every cell is
    # a short text or a number (their tables and columns are the register's, tests/test_register.py).
    assert media_in_databases(stack.data_dir) == []


def media_in_databases(data_dir: Path) -> list[str]:
    """Cells of any SQLite file under ``data_dir`` that could carry audio or video."""
    found = []
    for path in data_dir.glob("*.db"):
        with sqlite3.connect(path) as db:
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                for row in db.execute(f'SELECT * FROM "{table}"'):
                    found += [f"{path.name} {table}: {type(cell).__name__} of {len(cell)}" for cell in row
                              if isinstance(cell, bytes) or (isinstance(cell, str) and len(cell) > MAX_CELL_CHARS)]
    return found


def test_the_database_scan_sees_a_recording(tmp_path):
    with sqlite3.connect(tmp_path / "booth-1.db") as db:
        db.execute("CREATE TABLE technical (session_id TEXT, transmission_quality TEXT)")
        db.execute("INSERT INTO technical VALUES ('s', ?)", [bytes(4000)])
        db.execute("INSERT INTO technical VALUES ('t', ?)", ["x" * 4000])
    assert len(media_in_databases(tmp_path)) == 2


def test_the_write_detector_sees_a_file_written(tmp_path):
    recorder = WriteRecorder.get()
    recorder.paths.clear()
    recorder.armed = True
    try:
        (tmp_path / "call.webm").write_bytes(b"\x1a\x45\xdf\xa3")
        fd = os.open(tmp_path / "call.wav", os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
        (tmp_path / "call.webm").read_bytes()  # reading is not writing
    finally:
        recorder.armed = False
    assert [Path(p).name for p in recorder.paths] == ["call.webm", "call.wav"]
    assert not _allowed(recorder.paths[0], tmp_path)
