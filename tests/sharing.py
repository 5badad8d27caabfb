"""Several pytest processes share one suite (scripts/run-tests, `make test`): whole test files,
each run by whichever process claims it first.

Every process collects the whole suite in the same order: files that never open a browser first,
then the browser files, the heaviest of each first (a rough cost per test: ``FILE_WEIGHT``). Before
its first test, a file is claimed by creating ``<share dir>/<file>`` exclusively; the process that
loses the race skips the file. So the shares balance themselves, however long a file turns out to
be, and each process keeps a file's module fixtures, servers and cached roots to itself.

Example::

    .venv/bin/python -m pytest --share-dir=/tmp/claims &
    .venv/bin/python -m pytest --share-dir=/tmp/claims
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# A rough cost per test, to put the long files first: the last files to start should be short ones.
# A VM boot (marker ``vm``, tests/vm/test_appliance.py) outweighs any file: it starts first and its
# image build and TCG boot overlap the rest of the suite in the other process.
FILE_WEIGHT = {"vm": 10_000, "browser": 10, "slow": 20, "plain": 1}


def uses_browser(item: pytest.Item) -> bool:
    return bool({"browser", "playwright_driver"} & set(getattr(item, "fixturenames", ())))


def _weight(item: pytest.Item) -> int:
    if item.get_closest_marker("vm") is not None:
        return FILE_WEIGHT["vm"]
    if item.get_closest_marker("slow") is not None:
        return FILE_WEIGHT["slow"]
    return FILE_WEIGHT["browser" if uses_browser(item) else "plain"]


def _file_of(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser files last, the heaviest files first in each group (with or without sharing).

    Browser tests run last: once the session's sync Playwright is up, it owns an event loop in the
    main thread, and pytest-asyncio tests run after it fail ("Runner.run() cannot be called from a
    running event loop"); async tests never use the browser, so order fixes it."""
    weight: dict[str, int] = {}
    for item in items:
        weight[_file_of(item)] = weight.get(_file_of(item), 0) + _weight(item)
    position = {name: n for n, name in enumerate(dict.fromkeys(map(_file_of, items)))}
    items.sort(key=lambda item: (uses_browser(item), -weight[_file_of(item)], position[_file_of(item)]))


def _claim(share_dir: Path, part: str) -> bool:
    try:
        os.close(os.open(share_dir / part.replace("/", "__"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def run_claimed_files(session: pytest.Session, share_dir: Path) -> None:
    """pytest's run loop, for the files this process claims. The next file is claimed before the
    last test of the current one runs, so pytest tears down towards the test that really comes next
    (its module, package and class fixtures end; the session's stay)."""
    # A file with browser and other tests is two parts, one in each group (browser tests last).
    parts: dict[str, list[pytest.Item]] = {}
    for item in session.items:
        parts.setdefault(_file_of(item) + (" (browser)" if uses_browser(item) else ""), []).append(item)
    groups = list(parts.items())

    def claim_from(start: int) -> int | None:
        return next((g for g in range(start, len(groups)) if _claim(share_dir, groups[g][0])), None)

    current = claim_from(0)
    while current is not None:
        items, following_group = groups[current][1], None
        for i, item in enumerate(items):
            if i + 1 < len(items):
                following = items[i + 1]
            else:
                following_group = claim_from(current + 1)
                following = groups[following_group][1][0] if following_group is not None else None
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=following)
            if session.shouldfail:
                raise session.Failed(session.shouldfail)
            if session.shouldstop:
                raise session.Interrupted(session.shouldstop)
        current = following_group


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--share-dir", default=None, metavar="DIR",
                     help="share the suite with other pytest processes given the same empty folder "
                          "(scripts/run-tests): each runs the files it claims first")


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session):
    share_dir = session.config.getoption("share_dir")
    if share_dir is None or session.config.option.collectonly:
        return None  # pytest's own loop
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        raise session.Interrupted(f"{session.testsfailed} error(s) during collection")
    run_claimed_files(session, Path(share_dir))
    return True
