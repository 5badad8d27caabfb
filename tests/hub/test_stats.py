"""Anonymous statistics and survey results: counted as calls happen, unlinkable, survive the purge,
and shown to a lead as charts and CSV in the real Chromium."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from hub.app import HubParts, make_app
from hub.config import HubConfig
from hub.db import purge
from hub.stats import HubStats, grant_role, percentile
from videokiosk.clock import FakeClock

from .conftest import PASSWORD

DAY = date(2026, 1, 1)  # FakeClock's first day


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
    "rating_1": 0, "rating_2": 1, "rating_3": 0, "rating_4": 0, "rating_5": 2,
    "easy_yes": 1, "easy_no": 1, "again_yes": 2, "again_no": 0,
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


async def test_survey_rows_cannot_be_joined_to_call_rows(running_hub, hub_config):
    anna, booth = await _three_calls(running_hub)
    conn = sqlite3.connect(hub_config.store.path)
    tables = ("stats_survey", "stats_daily", "stats_wait", "calls")
    cols = {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in tables}
    assert conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 3
    assert not {"session_id", "call_id", "booth_id", "time", "created_at"} & set(cols["stats_survey"])
    for anonymous in ("stats_survey", "stats_daily", "stats_wait"):
        for a in cols[anonymous]:
            for b in cols["calls"]:
                # No equi-join on any pair of columns matches a single row, compared as stored or as text.
                for cond in (f"s.{a} = c.{b}", f"CAST(s.{a} AS TEXT) = CAST(c.{b} AS TEXT)"):
                    n = conn.execute(f"SELECT COUNT(*) FROM {anonymous} s JOIN calls c ON {cond}").fetchone()[0]
                    assert n == 0, f"{anonymous}.{a} joins calls.{b}"
    # No time finer than the day anywhere in the survey table.
    for row in conn.execute("SELECT * FROM stats_survey"):
        for value in row:
            assert not re.search(r"\d{2}:\d{2}|T\d{2}", str(value))
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row[0])
    conn.close()
    for sock in (anna, booth):
        await sock.close()


def test_survey_answers_of_one_day_cannot_be_told_apart(tmp_path):
    """The same answers arriving in another order leave the very same table: no trace of who said what."""
    from hub.db import open_db

    answers = [{"rating": 5, "easy": True}, {"rating": 5, "easy": False, "again": False}, {"rating": 3, "easy": True}]
    tables = []
    for n, order in enumerate((answers, list(reversed(answers)))):
        stats = HubStats(open_db(tmp_path / f"hub{n}.db"))
        for given in order:
            stats.count_survey(DAY, "Musterstadt", given)
        tables.append(sorted(stats._db.execute("SELECT * FROM stats_survey").fetchall()))
    assert tables[0] == tables[1]
    # One row per (question, answer) with a count, never one per response: 7 answers, 5 rows.
    assert len(tables[0]) == 5 and sum(row[-1] for row in tables[0]) == 7


# --- the page in the real Chromium ------------------------------------------------------------

SEED = [  # day offset, location, kind, wait_s, call_s, grade, survey
    (0, "Musterstadt", "walk_in", 60, 300, "good", {"rating": 5, "easy": True}),
    (0, "Musterstadt", "appointment", 200, 500, "fair", {"rating": 4}),
    (0, "Beispielhausen", "walk_in", 700, 200, "good", None),
    (1, "Musterstadt", "walk_in", 30, 100, "poor", {"rating": 1, "again": False}),
    (2, "Beispielhausen", "appointment", 100, 900, "good", {"rating": 3, "easy": True, "again": True}),
]


@pytest.fixture
def stats_hub(loop_thread, tmp_path):
    parts = HubParts.open(HubConfig.model_validate({"store": {"path": str(tmp_path / "hub.db")}}), clock=FakeClock())
    parts.users.add_user("lena", PASSWORD)
    grant_role(parts.db, "lena", "lead")
    stats = HubStats(parts.db)
    for offset, location, kind, wait_s, call_s, grade, survey in SEED:
        day = DAY + timedelta(days=offset)
        stats.count_call(day, location, kind, wait_s)
        stats.count_call_end(day, location, call_s, grade)
        if survey:
            stats.count_survey(day, location, survey)
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
    last = DAY + timedelta(days=2)
    page.goto(f"{url}/stats?from={DAY}&to={last}")
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
    assert ratings == [1, 0, 1, 1, 1]
    heights = page.locator("#calls-chart rect.bar.walk-in").evaluate_all("els => els.map(e => +e.getAttribute('height'))")
    assert heights[0] > heights[1] > heights[2] == 0
    expect(page.locator("#stats-rows tr")).to_have_count(4)  # day x location with data

    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV herunterladen").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    expected = HubStats(parts.db).report(DAY, last)
    assert len(rows) == 4
    for got, want in zip(rows, expected):
        assert got == {k: "" if v is None else str(v) for k, v in want.items()}
    first = rows[0]  # 2026-01-01, Beispielhausen
    assert (first["day"], first["location"], first["calls"], first["walk_ins"]) == ("2026-01-01", "Beispielhausen", "1", "1")
    musterstadt = rows[1]
    assert (musterstadt["calls"], musterstadt["appointments"], musterstadt["rating_5"], musterstadt["good_share"]) == ("2", "1", "1", "0.5")

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

    from hub.db import open_db
    from hub.stats import has_role

    db_path = tmp_path / "hub.db"
    config = tmp_path / "hub.toml"
    config.write_text(f'[store]\npath = "{db_path}"\n')
    HubParts.open(HubConfig.model_validate({"store": {"path": str(db_path)}})).users.add_user("lena", PASSWORD)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(Path(sys.executable).with_name("videokiosk")), "hub", *args], capture_output=True, text=True, timeout=60)

    done = cli("set-role", "--config", str(config), "lena", "lead")
    assert done.returncode == 0, done.stderr
    assert has_role(open_db(db_path), "lena", "lead")
    unknown = cli("set-role", "--config", str(config), "nobody", "lead")
    assert unknown.returncode == 2 and "no advisor 'nobody'" in unknown.stderr
    assert cli("set-role", "--config", str(config), "--remove", "lena", "lead").returncode == 0
    assert not has_role(open_db(db_path), "lena", "lead")
