"""The pages' copies of rules written once in Python (videokiosk/pages.py: the quality thresholds,
the journey table) are exactly what their sources generate: a hand-edited copy fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from videokiosk.pages import GENERATED, main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", sorted(GENERATED))
def test_each_generated_copy_is_what_its_source_writes(path):
    assert (ROOT / path).read_text("utf-8") == GENERATED[path](), "run: python -m videokiosk.pages"


def test_the_generator_writes_every_copy(tmp_path):
    for path in GENERATED:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    assert main(tmp_path) == 0
    assert all((tmp_path / path).read_text("utf-8") == (ROOT / path).read_text("utf-8") for path in GENERATED)
