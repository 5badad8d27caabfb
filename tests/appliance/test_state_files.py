"""The booth's small state files are replaced whole (appliance/statefile.py): whoever reads one
while it is written, and after a power cut, finds the old record or the new, never an empty one.
An update record read as empty makes mark-good treat the new slot as an ordinary boot."""

from __future__ import annotations

import json
import threading

from appliance.restarts import RestartCounter
from appliance.update import UpdateTracker

WRITES = 400


def test_a_reader_never_finds_the_update_record_empty_or_cut(tmp_path):
    tracker = UpdateTracker(tmp_path, "1.0", install_failure=lambda: None, boot_id=lambda: "boot-a")
    tracker.installing("1.1")
    seen, done = [], threading.Event()

    def read() -> None:  # the health report and mark-good, at any moment
        while not done.is_set():
            text = tracker.file.read_text()
            try:
                seen.append(json.loads(text)["state"])
            except ValueError:
                seen.append(f"unreadable: {text!r}")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(WRITES):
            tracker.mark_good() if i % 2 else tracker.installing("1.1")
    finally:
        done.set()
        reader.join()
    assert seen and set(seen) <= {"installing", "good"}, sorted(set(seen) - {"installing", "good"})[:3]
    assert [p.name for p in tmp_path.iterdir()] == ["update.json"]  # no temporary file left


def test_the_restart_count_is_replaced_whole(tmp_path):
    counter = RestartCounter(tmp_path)
    counter.started()
    assert RestartCounter(tmp_path).started() == 1  # the first run never stopped cleanly
    assert sorted(p.name for p in tmp_path.iterdir()) == ["daemon-running", "unclean-restarts"]
