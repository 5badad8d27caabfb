"""The technician's fleet page in the real Chromium, over real booth daemons (fake hardware):
health of every booth, problems first, office filter, self-test with its table, out of service and
back (the kiosk's notice in six languages, LED dark), the warning on a busy booth, the journal
fetched without personal data, and the daemon restart."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys

import pytest
from playwright.sync_api import Page, expect

from hub.roles import TECHNICIAN, grant_role
from tests.appliance.helpers import until

from .harness import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]
# The page refreshes every 5 s; a report plus a refresh may take longer than expect()'s default.
SEEN_MS = 20000

HOURS, NEAREST = "Mo–Fr 8–16 Uhr", "Rathaus, Erdgeschoss"
OFFICES = ("Aachen", "Bonn")


@pytest.fixture
def journal(tmp_path):
    """What the booths log, as their journal: a file the booth's journal command reads."""
    path = tmp_path / "journal.txt"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    yield path
    root.removeHandler(handler)
    root.setLevel(old_level)
    handler.close()


@pytest.fixture
def fleet(loop_thread, tmp_path, journal):
    from .harness import Stack

    command = [sys.executable, "-c", "import sys; sys.stdout.write(open(sys.argv[1]).read())", str(journal), "{hours}"]
    stack = Stack(loop_thread, tmp_path, booths=3, locations=OFFICES, booth_config={
        "fleet": {"health_interval_s": 1.0, "journal_command": command, "request_dir": str(tmp_path / "requests")},
        "out_of_service": {"opening_hours": HOURS, "nearest_booth": NEAREST},
    })
    stack.parts.users.add_user("tom", PASSWORD)
    grant_role(stack.parts.db, "tom", TECHNICIAN)
    yield stack
    stack.close()


def open_fleet(page: Page, hub_url: str) -> None:
    r = page.request.post(f"{hub_url}/api/login", data={"username": "tom", "password": PASSWORD})
    assert r.ok, r.text()
    page.goto(f"{hub_url}/fleet")
    expect(page.locator("#fleet-rows tr")).to_have_count(3)


def row(page: Page, booth_id: str):
    return page.locator(f'#fleet-rows tr[data-booth="{booth_id}"]')


def act(page: Page, booth_id: str, label: str, *, force: bool = False) -> None:
    row(page, booth_id).get_by_role("button", name=label).click()
    page.get_by_role("button", name="Ausführen").click()
    if force:
        expect(page.locator("#confirm-warning")).to_contain_text("wartet gerade jemand")
        page.get_by_role("button", name="Trotzdem ausführen").click()


def test_the_fleet_page_shows_every_booth_and_problems_first(fleet, advisor_context):
    page = advisor_context.new_page()
    open_fleet(page, fleet.hub_url)
    first = row(page, "booth-1")
    expect(first).to_contain_text("0.1.0")
    expect(first).to_contain_text("Kamera: in Ordnung")
    expect(first).to_contain_text("bereit")
    # The link's round trip: measured from the first report's ack, so shown from the second report on.
    expect(first.locator("td").nth(6)).to_have_text(re.compile(r"^\d+ ms$"), timeout=SEEN_MS)
    # A camera unplugged at booth-2: red, and first in the list.
    fleet.booths[1].daemon.devices.hotplug.unplug("/dev/video0")
    expect(page.locator("#fleet-rows tr").first).to_have_attribute("data-booth", "booth-2", timeout=SEEN_MS)
    expect(row(page, "booth-2")).to_have_class("problem")
    expect(row(page, "booth-2")).to_contain_text("Kamera gestört")
    page.locator("#office").select_option("Aachen")  # booths 1 and 3
    expect(page.locator("#fleet-rows tr")).to_have_count(2)
    expect(row(page, "booth-2")).to_have_count(0)
    fleet.booths[1].daemon.devices.hotplug.replug("/dev/video0")


def test_self_test_out_of_service_and_back_from_the_fleet_page(fleet, advisor_context, kiosk_context):
    page, kiosk = advisor_context.new_page(), kiosk_context.new_page()
    booth = fleet.booths[0]
    kiosk.goto(booth.url)
    expect(kiosk.get_by_role("button", name="Videoberatung starten")).to_be_visible()
    open_fleet(page, fleet.hub_url)

    act(page, "booth-1", "Selbsttest")
    expect(page.locator("#result-text")).to_contain_text("CHECK", timeout=60000)
    expect(page.locator("#result-text")).to_contain_text("camera")
    page.get_by_role("button", name="Schließen").click()
    expect(row(page, "booth-1").locator("td.selftest")).not_to_have_text("–", timeout=SEEN_MS)

    act(page, "booth-1", "Außer Betrieb nehmen")
    expect(page.locator("#result-title")).to_contain_text("erledigt")
    page.get_by_role("button", name="Schließen").click()
    expect(row(page, "booth-1")).to_have_class("problem", timeout=SEEN_MS)
    expect(row(page, "booth-1").locator("td.state")).to_have_text("außer Betrieb")
    # The kiosk: a calm notice in all six languages with the office's hours and the nearest booth.
    expect(kiosk.get_by_text("Diese Kabine ist gerade außer Betrieb").first).to_be_visible()
    notices = kiosk.locator("#oos-notices .oos-notice")
    expect(notices).to_have_count(6)
    expect(kiosk.locator('#oos-notices [lang="ar"]')).to_have_attribute("dir", "rtl")
    expect(kiosk.locator('#oos-notices [lang="en"]')).to_contain_text(f"Opening hours: {HOURS}")
    expect(kiosk.locator('#oos-notices [lang="de"]')).to_contain_text(NEAREST)
    expect(kiosk.get_by_role("button", name="Videoberatung starten")).to_be_hidden()
    assert booth.daemon.devices.led.pattern == "off"

    act(page, "booth-1", "Wieder in Betrieb nehmen")
    page.get_by_role("button", name="Schließen").click()
    expect(kiosk.get_by_role("button", name="Videoberatung starten")).to_be_visible()
    expect(row(page, "booth-1").locator("td.state")).to_have_text("bereit", timeout=SEEN_MS)
    audit = page.locator("#audit-rows")
    expect(audit).to_contain_text("Wieder in Betrieb nehmen")
    expect(audit.locator("tr")).to_have_count(3)
    expect(audit.locator("tr").first).to_contain_text("tom")


def test_a_waiting_customer_is_only_interrupted_after_the_warning(fleet, advisor_context):
    page = advisor_context.new_page()
    booth = fleet.booths[2]
    fleet.to_waiting(booth)
    open_fleet(page, fleet.hub_url)
    expect(row(page, "booth-3").locator("td.state")).to_have_text("in Benutzung", timeout=SEEN_MS)
    row(page, "booth-3").get_by_role("button", name="Außer Betrieb nehmen").click()
    page.get_by_role("button", name="Ausführen").click()
    expect(page.locator("#confirm-warning")).to_be_visible()
    page.get_by_role("button", name="Abbrechen").click()  # the technician thinks again
    assert booth.session.state == "waiting"
    act(page, "booth-3", "Außer Betrieb nehmen", force=True)
    fleet.wait_state("out_of_service", booth)
    expect(page.locator("#audit-rows tr").first).to_contain_text("erzwungen")
    assert fleet.lt.run(fleet.parts.state.waiting()) == []  # the customer left the waiting room


def test_the_fetched_journal_carries_no_personal_data(fleet, journal):
    """Promise: logs carry no personal data (DEVELOPERS.md), also as fetched through the hub."""
    booth = fleet.booths[0]
    name, number = "Erika Mustermann", "KN-4711-0815"
    fleet.to_waiting(booth)
    fleet.lt.run(booth.session.handle("set_details", name=name, customer_number=number))
    fleet.lt.run(booth.session.handle("cancel"))

    status, body = run_action(fleet, "booth-1", "fetch_logs", hours=2)
    assert status == 200 and body["ok"], body
    text = body["detail"]
    assert "session " in text and "waiting" in text  # the journey is there, by its random id
    for secret in (name, "Mustermann", number, "127.0.0.1"):
        assert secret not in text, secret


def test_restart_and_reboot_are_asked_of_the_service_manager(fleet):
    booth = fleet.booths[1]

    assert run_action(fleet, "booth-2", "reboot")[1]["ok"]
    assert (fleet.data_dir / "requests" / "reboot").exists()  # for the privileged maintenance service
    assert run_action(fleet, "booth-2", "restart")[1]["ok"]
    fleet.lt.run(booth.daemon.exit_requested.wait(), 10)
    assert booth.daemon.exit_code == 75  # systemd's Restart=on-failure starts it again


def run_action(fleet, booth_id: str, action: str, **extra) -> tuple[int, dict]:
    """A technician's action through the hub's API, as the fleet page sends it."""
    async def go() -> tuple[int, dict]:
        import aiohttp

        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            r = await http.post(f"{fleet.hub_url}/api/login", json={"username": "tom", "password": PASSWORD})
            csrf = (await r.json())["csrf"]
            r = await http.post(f"{fleet.hub_url}/api/fleet/{booth_id}/actions", json={"action": action, **extra},
                                headers={"X-CSRF-Token": csrf})
            return r.status, json.loads(await r.text())

    return fleet.lt.run(go(), 90)


def test_a_rollout_started_from_the_form_reaches_a_real_booth_which_asks_for_the_install(fleet, advisor_context):
    """As far as this machine can go: the technician's form, the request for the root side, and the
    booth's report. RAUC's install into the other slot, the reboot and the fallback need the VM."""
    page = advisor_context.new_page()
    open_fleet(page, fleet.hub_url)
    expect(page.locator("#rollout-status")).to_have_text("Keine Verteilung läuft.")
    page.locator("#office").select_option("Bonn")  # booth-2 only: the office filter is the rollout's
    expect(page.locator("#fleet-rows tr")).to_have_count(1)
    page.get_by_label("Adresse des signierten Update-Pakets (.raucb)").fill("https://updates.example.org/videokiosk-0.2.0.raucb")
    page.get_by_label("Version, die das Paket bringt").fill("0.2.0")
    page.get_by_label("Kabinen in der ersten Welle").fill("1")
    page.get_by_role("button", name="Verteilung starten").click()
    expect(page.locator("#confirm-text")).to_contain_text("0.2.0 (Bonn)")
    page.get_by_role("button", name="Ausführen").click()
    expect(page.locator('#rollout-booths li[data-booth="booth-2"]')).to_have_text("booth-2: installing", timeout=SEEN_MS)
    expect(page.locator("#rollout-status")).to_contain_text("0.2.0: erste Kabinen")
    expect(page.locator("#rollout-form")).to_be_hidden()  # one rollout at a time
    asked = "booth-2"
    request = json.loads((fleet.data_dir / "requests" / "install.json").read_text())
    assert request == {"url": "https://updates.example.org/videokiosk-0.2.0.raucb", "version": "0.2.0"}
    booth = next(b for b in fleet.booths if b.daemon.config.booth.id == asked)
    assert booth.daemon.updates.state().state == "installing"

    async def reported() -> None:  # the next health report carries it to the hub (every second here)
        from hub.fleet import FleetBoard

        board = FleetBoard(fleet.parts.db)
        while board.latest()[asked][0].update.state != "installing":
            await asyncio.sleep(0.1)

    fleet.lt.run(reported(), 20)
    page.get_by_role("button", name="Verteilung abbrechen").click()
    expect(page.locator("#rollout-status")).to_contain_text("abgebrochen", timeout=SEEN_MS)
    expect(page.locator("#rollout-form")).to_be_visible()


def test_the_fleet_page_and_its_rollout_form_have_no_axe_violation(fleet, advisor_context):
    from tests.axe import axe_violations

    page = advisor_context.new_page()
    open_fleet(page, fleet.hub_url)
    expect(page.locator("#rollout-form")).to_be_visible()
    problems = [f"{v['id']} {v['help']} {v['nodes']}" for v in axe_violations(page)]
    assert not problems, "\n".join(problems)
