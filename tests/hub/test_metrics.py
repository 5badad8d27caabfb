"""The hub's /metrics: parsed with prometheus-client's own parser; names and labels are a contract."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

WAITING = {"type": "waiting", "session_id": "s-metrics1", "language": "de", "kind": "appointment"}

# name -> label names (without the le of histograms); renaming one breaks dashboards.
CONTRACT = {
    "videokiosk_hub_booths": {"state"},
    "videokiosk_hub_advisors_online": set(),
    "videokiosk_hub_customers_waiting": set(),
    "videokiosk_hub_calls_active": set(),
    "videokiosk_hub_wait_seconds": set(),
    "videokiosk_hub_calls_started": {"kind"},
    "videokiosk_hub_calls_ended": {"reason"},
    "videokiosk_hub_call_quality": {"grade"},
    "videokiosk_hub_signalling_errors": {"side", "code"},
}


async def _scrape(running_hub) -> dict:
    r = await running_hub.http.get(f"{running_hub.url}/metrics")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(await r.text())}
    return families


def _value(families, name, sample_name=None, **labels) -> float:
    for sample in families[name].samples:
        if sample.name == (sample_name or name) and all(sample.labels.get(k) == v for k, v in labels.items()):
            return sample.value
    raise AssertionError(f"no sample {sample_name or name} {labels}")


async def test_hub_metrics_names_labels_and_values(running_hub):
    families = await _scrape(running_hub)
    for name, labels in CONTRACT.items():
        assert name in families, name
        for sample in families[name].samples:
            assert set(sample.labels) - {"le"} == labels, (name, sample.labels)
    assert _value(families, "videokiosk_hub_customers_waiting") == 0

    anna = await running_hub.advisor()
    booth = await running_hub.booth()
    await booth.send(WAITING)
    await anna.expect("waiting_added")
    families = await _scrape(running_hub)
    assert _value(families, "videokiosk_hub_customers_waiting") == 1
    assert _value(families, "videokiosk_hub_advisors_online") == 1
    assert _value(families, "videokiosk_hub_booths", state="waiting") == 1

    await anna.send({"type": "admit", "session_id": WAITING["session_id"]})
    call_id = (await booth.expect("admitted"))["call_id"]
    await booth.send({"type": "quality", "call_id": call_id, "grade": "fair", "send_kbps": 500})
    await anna.expect("quality")
    await booth.send({"type": "waiting", "session_id": "bad id!", "language": "de"})  # invalid
    await booth.expect("error")
    families = await _scrape(running_hub)
    assert _value(families, "videokiosk_hub_calls_active") == 1
    assert _value(families, "videokiosk_hub_calls_started", "videokiosk_hub_calls_started_total", kind="appointment") == 1
    assert _value(families, "videokiosk_hub_wait_seconds", "videokiosk_hub_wait_seconds_count") == 1
    assert _value(families, "videokiosk_hub_call_quality", "videokiosk_hub_call_quality_total", grade="fair") == 1
    assert _value(families, "videokiosk_hub_signalling_errors", "videokiosk_hub_signalling_errors_total",
                  side="booth", code="invalid") == 1

    await booth.send({"type": "hangup", "call_id": call_id})
    await anna.expect("call_state", state="ended")
    families = await _scrape(running_hub)
    assert _value(families, "videokiosk_hub_calls_ended", "videokiosk_hub_calls_ended_total", reason="ended") == 1
    assert _value(families, "videokiosk_hub_calls_active") == 0
    text = await (await running_hub.http.get(f"{running_hub.url}/metrics")).text()
    assert "s-metrics1" not in text and "Musterstadt" not in text  # nothing about people or places
    for sock in (anna, booth):
        await sock.close()


async def test_metrics_refuse_requests_that_came_through_a_proxy(running_hub):
    r = await running_hub.http.get(f"{running_hub.url}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.status == 403
