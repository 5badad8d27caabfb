"""Anonymous statistics and survey results: counted as calls happen, unlinkable, survive the purge,
and shown to a lead as charts and CSV in the real Chromium."""

from __future__ import annotations

import csv
import io
import logging
import re
import sqlite3
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from hub.app import HubParts, make_app
from hub.config import HubConfig
from hub.db import purge
from hub.roles import grant_role
from hub.service import Hub
from hub.state import InMemoryState
from hub.stats import HubStats, percentile
from hub.storage import Database, open_database
from videokiosk.clock import FakeClock

from .conftest import PASSWORD

DAY = date(2026, 1, 1)  # FakeClock's first day
AT_LEAST = 5  # the promise: every stored survey count mixes the answers of at least five people
MONDAY = date(2026, 1, 5)  # the page's days: one week, whose survey counts show on its Monday


def test_percentiles_interpolate_within_buckets():
    assert percentile({}, 0.5) is None
    assert percentile({60: 4}, 0.5) == 45.0  # half way through the 30..60 s bucket
    assert percentile({30: 9, 600: 1}, 0.9) == 30.0
    assert percentile({-1: 1}, 0.5) == 7200.0  # beyond the last bound: "at least two hours"


async def _call(hub, anna, booth, sid: str, kind: str, wait_s: int, call_s: int, grades: list[str],
                survey: dict | None) -> str:
    clock: FakeClock = hub.parts.clock
    await booth.send({"type": "waiting", "session_id": sid, "language": "de", "kind": kind,
                      "name": "Erika Muster", "customer_number": "123A456"})
    await anna.expect("waiting_added")
    clock.advance(timedelta(seconds=wait_s))
    await anna.send({"type": "admit", "session_id": sid})
    call_id = (await booth.expect("admitted"))["call_id"]
    await anna.expect("admit_result", ok=True)
    for grade in grades:
        await booth.send({"type": "quality", "call_id": call_id, "grade": grade, "send_kbps": 900.0,
                          "recv_kbps": 1100.0, "send_loss_pct": 0.5, "rtt_ms": 20.0})
        relayed = await anna.expect("quality")  # the advisor sees it live
        assert relayed["grade"] == grade and relayed["call_id"] == call_id
    clock.advance(timedelta(seconds=call_s))
    await booth.send({"type": "hangup", "call_id": call_id})
    await anna.expect("call_state", state="ended")
    if survey is not None:
        await booth.send({"type": "survey", **survey})
    return call_id


async def _three_calls(running_hub):
    anna = await running_hub.advisor()
    booth = await running_hub.booth()
    await _call(running_hub, anna, booth, "s-aaaa1111", "walk_in", 90, 300, ["good", "good", "fair"],
                {"rating": 5, "easy": True, "again": True})
    await _call(running_hub, anna, booth, "s-bbbb2222", "appointment", 400, 600, ["poor"],
                {"rating": 2, "easy": False})
    await _call(running_hub, anna, booth, "s-cccc3333", "walk_in", 20, 120, ["good"], {"rating": 5, "again": True})
    # The survey arrives after the last hangup; one more round trip makes sure it was counted.
    await booth.send({"type": "survey", "call_id": "c-x"})
    await booth.expect("error")
    return anna, booth


EXPECTED = {
    "day": DAY.isoformat(), "location": "Musterstadt", "calls": 3, "walk_ins": 2, "appointments": 1,
    "call_mean_s": 340.0, "quality_good": 2, "quality_fair": 0, "quality_poor": 1, "good_share": 0.667,
    # Three surveys: held back, fewer than five are never written (videokiosk/surveypool.py).
    "rating_1": 0, "rating_2": 0, "rating_3": 0, "rating_4": 0, "rating_5": 0,
    "easy_yes": 0, "easy_no": 0, "again_yes": 0, "again_no": 0,
}


async def test_statistics_are_counted_as_calls_happen_and_survive_the_purge(running_hub):
    anna, booth = await _three_calls(running_hub)
    url, parts = running_hub.url, running_hub.parts
    session, _csrf = await running_hub.login("anna")
    query = f"{url}/api/stats?from={DAY}&to={DAY}"
    assert (await running_hub.http.get(query)).status == 401
    assert (await session.get(query)).status == 403  # an advisor, not a lead
    grant_role(parts.db, "anna", "lead")
    assert (await session.get(query)).status == 401  # a role change ends the session ...
    await session.close()
    session, _csrf = await running_hub.login("anna")  # ... and the next log-in has the role
    before = await (await session.get(query)).json()
    [row] = before["rows"]
    assert {k: row[k] for k in EXPECTED} == EXPECTED
    assert row["wait_median_s"] == pytest.approx(90.0) and 300 <= row["wait_p90_s"] <= 450
    assert before["locations"] == ["Musterstadt"]
    assert parts.db["calls"].count == 3  # the personal rows exist ...
    call_row = next(iter(parts.db["calls"].rows))
    assert call_row["quality"] in ("good", "fair", "poor") and call_row["upload_kbps"] == 900.0

    removed = purge(parts.db, parts.clock.advance(timedelta(days=15)))
    assert removed == 3 and parts.db["calls"].count == 0  # ... and are gone 15 days later
    await session.close()
    session, _csrf = await running_hub.login("anna")  # the old log-in expired meanwhile
    after = await (await session.get(query)).json()
    assert after["rows"] == before["rows"]  # the statistics are not derived from them
    csv_text = await (await session.get(f"{url}/api/stats.csv?from={DAY}&to={DAY}")).text()
    assert list(csv.DictReader(io.StringIO(csv_text)))[0]["calls"] == "3"
    for sock in (anna, booth):
        await sock.close()
    await session.close()


def singled_out_answers(db: Database, log_lines: list[str]) -> list[str]:
    """The audit's attack on one snapshot of the hub database plus the hub's log; what it can pin on a person.

    - every stored survey count is joined to the calls of its period and location
      (``date(expires_at, '-14 days')``): with fewer than AT_LEAST surveys behind a count, the
      calls of that period (minus those ruled out by withdrawals or the log) point at the answer;
    - ``expires_at`` finer than the day tells when a call took place or ended;
    - a log line with both a call id and a session id ties the booth's log of the session (and of
      its survey) to the call's row.
    """
    found = []
    period = "week" if "week" in db["stats_survey"].columns_dict else "day"
    for key, location, question, answered in db.execute(
            f"SELECT {period}, location, question, SUM(responses) FROM stats_survey GROUP BY 1, 2, 3"):
        if answered < AT_LEAST:
            found.append(f"{key} {location}: {answered} answer(s) to {question!r}, told apart by who called")
    for (expires_at,) in db.execute("SELECT expires_at FROM calls"):
        if not re.search(r"T00:00:00(\.0+)?(\+00:00|Z)?$", expires_at):
            found.append(f"expires_at {expires_at} says when the call was")
    call_ids = {r[0] for r in db.execute("SELECT call_id FROM calls")}
    for line in log_lines:
        if any(c in line for c in call_ids) and re.search(r"\bs-[0-9a-z]{8}\b", line):
            found.append(f"log pairs a call with a session: {line}")
    return found


@pytest.mark.parametrize("customers", [2, 5])
async def test_the_audit_attack_cannot_single_out_a_survey_answer(running_hub, hub_config, caplog, customers):
    """One day, one booth, ``customers`` walk-ins; the first withdraws after the call (the booth's
    daily_stats would say so), the others answer the survey. The attack finds nothing."""
    caplog.set_level(logging.DEBUG)
    anna, booth = await running_hub.advisor(), await running_hub.booth()
    for n in range(customers):
        sid = f"s-{n:04d}cust"
        await _call(running_hub, anna, booth, sid, "walk_in", 30 + n, 200 + n, ["good"],
                    None if n == 0 else {"rating": 1 + n % 5, "easy": n % 2 == 0, "again": True})
        if n == 0:
            await booth.send({"type": "leave_waiting", "session_id": sid, "reason": "withdraw"})
        running_hub.parts.clock.advance(timedelta(minutes=17))
    await booth.send({"type": "survey", "call_id": "c-x"})  # one more round trip: all counted
    await booth.expect("error")
    snapshot = open_database(hub_config.store.database_url or hub_config.store.path)  # the attacker's own connection
    assert snapshot.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == customers - 1  # the withdrawn one is gone
    assert singled_out_answers(snapshot, [r.getMessage() for r in caplog.records]) == []
    snapshot.close()
    for sock in (anna, booth):
        await sock.close()


def test_survey_answers_of_one_week_cannot_be_told_apart(tmp_path):
    """The same answers arriving in another order leave the very same table: no trace of who said what."""
    answers = [{"rating": 5, "easy": True}, {"rating": 5, "easy": False, "again": False}, {"rating": 3, "easy": True},
               {"rating": 4}, {"rating": 3, "again": True}]
    tables = []
    for n, order in enumerate((answers, list(reversed(answers)))):
        stats = HubStats(open_database(tmp_path / f"hub{n}.db"))
        for i, given in enumerate(order):
            stats.count_survey(DAY + timedelta(days=i % 2), "Musterstadt", given)
        tables.append(sorted(stats._db.execute("SELECT * FROM stats_survey").fetchall()))
    assert tables[0] == tables[1]
    # One row per (question, answer) with a count, never one per response: 10 answers, 7 rows.
    assert len(tables[0]) == 7 and sum(row[-1] for row in tables[0]) == 10


# --- the page in the real Chromium ------------------------------------------------------------

SEED = [  # day offset, location, kind, wait_s, call_s, grade, survey
    (0, "Musterstadt", "walk_in", 60, 300, "good", {"rating": 5, "easy": True}),
    (0, "Musterstadt", "appointment", 200, 500, "fair", {"rating": 4}),
    (0, "Beispielhausen", "walk_in", 700, 200, "good", None),
    (1, "Musterstadt", "walk_in", 30, 100, "poor", {"rating": 1, "again": False}),
    (2, "Beispielhausen", "appointment", 100, 900, "good", {"rating": 3, "easy": True, "again": True}),
]
# Two more surveys make five in Musterstadt that week (released); Beispielhausen's two stay held.
MORE_SURVEYS = [(1, "Musterstadt", {"rating": 5}), (2, "Musterstadt", {"rating": 2})]


@pytest.fixture
def stats_hub(loop_thread, tmp_path):
    parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(tmp_path / "hub.db")}}), clock=FakeClock())
    parts.users.add_user("lena", PASSWORD)
    grant_role(parts.db, "lena", "lead")
    stats = HubStats(parts.db)
    for offset, location, kind, wait_s, call_s, grade, survey in SEED:
        day = MONDAY + timedelta(days=offset)
        stats.count_call(day, location, kind, wait_s)
        stats.count_call_end(day, location, call_s, grade)
        if survey:
            stats.count_survey(day, location, survey)
    for offset, location, survey in MORE_SURVEYS:
        stats.count_survey(MONDAY + timedelta(days=offset), location, survey)
    return loop_thread.serve(make_app(parts)), parts


@pytest.mark.browser
def test_lead_sees_charts_and_downloads_matching_csv(stats_hub, advisor_context, tmp_path):
    url, parts = stats_hub
    page = advisor_context.new_page()
    page.goto(url)
    page.get_by_label("Benutzername").fill("lena")
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    last = MONDAY + timedelta(days=2)
    page.goto(f"{url}/stats?from={MONDAY}&to={last}")
    expect(page.locator("body[data-loaded=true]")).to_be_attached(timeout=10_000)
    expect(page.get_by_role("heading", name="Statistik")).to_be_visible()
    # Three days: a stacked walk-in / appointment pair per day, median and p90 per day, one quality
    # bar per day, five rating bars.
    expect(page.locator("#calls-chart rect.bar")).to_have_count(6)
    expect(page.locator("#wait-chart rect.bar")).to_have_count(6)
    expect(page.locator("#quality-chart rect.bar")).to_have_count(3)
    expect(page.locator("#rating-chart rect.bar")).to_have_count(5)
    walk_ins = page.locator("#calls-chart rect.bar.walk-in").evaluate_all("els => els.map(e => +e.dataset.value)")
    assert walk_ins == [2, 1, 0]
    ratings = page.locator("#rating-chart rect.bar").evaluate_all("els => els.map(e => +e.dataset.value)")
    assert ratings == [1, 1, 0, 1, 2]
    heights = page.locator("#calls-chart rect.bar.walk-in").evaluate_all("els => els.map(e => +e.getAttribute('height'))")
    assert heights[0] > heights[1] > heights[2] == 0
    expect(page.locator("#stats-rows tr")).to_have_count(4)  # day x location with data

    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV herunterladen").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    expected = HubStats(parts.db).report(MONDAY, last)
    assert len(rows) == 4
    for got, want in zip(rows, expected):
        assert got == {k: "" if v is None else str(v) for k, v in want.items()}
    first = rows[0]  # Monday, Beispielhausen
    assert (first["day"], first["location"], first["calls"], first["walk_ins"]) == (MONDAY.isoformat(), "Beispielhausen", "1", "1")
    musterstadt = rows[1]
    assert (musterstadt["calls"], musterstadt["appointments"], musterstadt["rating_5"], musterstadt["good_share"]) == ("2", "1", "2", "0.5")

    # Filtering by location narrows charts, table and the CSV link alike.
    page.get_by_label("Standort").select_option("Beispielhausen")
    page.get_by_role("button", name="Anzeigen").click()
    expect(page.locator("#stats-rows tr")).to_have_count(2)
    expect(page.get_by_role("link", name="CSV herunterladen")).to_have_attribute("href", re.compile("location=Beispielhausen"))
    page.close()


@pytest.mark.browser
def test_an_advisor_without_the_lead_role_is_told_so(stats_hub, advisor_context):
    url, parts = stats_hub
    parts.users.add_user("anna", PASSWORD)
    page = advisor_context.new_page()
    page.goto(url)
    page.get_by_label("Benutzername").fill("anna")
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
    page.goto(f"{url}/stats")
    expect(page.get_by_role("alert")).to_have_text("Die Statistik ist nur für Teamleitungen sichtbar.")
    expect(page.locator("svg rect")).to_have_count(0)
    page.close()


def test_set_role_command_grants_and_removes_lead(tmp_path, capsys):
    import subprocess
    import sys
    from pathlib import Path

    from hub.roles import has_role

    db_path = tmp_path / "hub.db"
    config = tmp_path / "hub.toml"
    config.write_text(f'[store]\npath = "{db_path}"\n')
    HubParts.open(HubConfig.model_validate({"store": {"path": str(db_path)}})).users.add_user("lena", PASSWORD)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(Path(sys.executable).with_name("videokiosk")), "hub", *args], capture_output=True, text=True, timeout=60)

    done = cli("set-role", "--config", str(config), "lena", "lead")
    assert done.returncode == 0, done.stderr
    assert has_role(open_database(db_path), "lena", "lead")
    unknown = cli("set-role", "--config", str(config), "nobody", "lead")
    assert unknown.returncode == 2 and "no advisor 'nobody'" in unknown.stderr
    assert cli("set-role", "--config", str(config), "--remove", "lena", "lead").returncode == 0
    assert not has_role(open_database(db_path), "lena", "lead")


@pytest.mark.parametrize("failure", [sqlite3.OperationalError("database is locked"), KeyError("a bug")])
def test_a_survey_count_that_failed_leaves_no_log_line(caplog, failure):
    """No line marks a survey's moment (videokiosk/surveypool.py): "StatsRecorder listener skipped
    survey" came right after the "call ...: ended" line of the booth's call, and said it was answered."""
    class Failing:
        def survey(self, **_) -> None:
            raise failure

    hub = Hub(HubConfig(), InMemoryState(), open_database(":memory:"), FakeClock(), listeners=[Failing()])
    caplog.set_level(logging.DEBUG)
    hub.emit("survey", location="Musterstadt", answers={"rating": 2})
    assert not [r for r in caplog.records if "survey" in (r.getMessage() + (r.exc_text or "")).lower()]
