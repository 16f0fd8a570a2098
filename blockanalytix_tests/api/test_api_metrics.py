"""GET /metrics: Prometheus text with request counts and latency histograms per route template and status."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from blockanalytix_assets.api.app import create_app

KEY0 = "000000000-000000099"
ADDRESS = "0x" + "ab" * 20


@pytest.fixture(scope="module")
def fresh(dataset) -> TestClient:
    """Its own app, so the counts below are this module's requests only."""
    return TestClient(create_app(dataset.root, refresh_s=None), raise_server_exceptions=False)


def _samples(client: TestClient) -> dict[str, list]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out.setdefault(s.name, []).append(s)
    return out


def _count(samples: dict, route: str, status: str, method: str = "GET") -> float:
    found = [
        s.value
        for s in samples.get("blockanalytix_api_requests_total", [])
        if s.labels == {"method": method, "route": route, "status": status}
    ]
    return found[0] if found else 0.0


def test_requests_are_counted_by_route_template_and_status(fresh, dataset):
    fresh.get("/health")
    fresh.get("/health")
    fresh.get(f"/ranges/{KEY0}/anomalies", params={"limit": 2})
    fresh.get("/ranges/999999999-999999999/anomalies")
    for i in range(3):  # three addresses, one route label
        fresh.get(f"/addresses/0x{i:040x}")
    fresh.get(f"/addresses/{ADDRESS[:-2]}")  # malformed: 400
    fresh.get("/no/such/path/1")
    fresh.get("/no/such/path/2")
    fresh.post("/health")  # known path, wrong method: 405
    samples = _samples(fresh)
    assert _count(samples, "/health", "200") == 2
    assert _count(samples, "/ranges/{key}/anomalies", "200") == 1
    assert _count(samples, "/ranges/{key}/anomalies", "404") == 1
    assert _count(samples, "/addresses/{address}", "404") == 3
    assert _count(samples, "/addresses/{address}", "400") == 1
    assert _count(samples, "<unmatched>", "404") == 2
    assert _count(samples, "/health", "405", method="POST") == 1
    routes = {s.labels["route"] for s in samples["blockanalytix_api_requests_total"]}
    assert not any(ADDRESS[:10] in r or "0x" in r or "no/such" in r for r in routes)  # bounded cardinality


def test_latency_histogram_per_route(fresh):
    fresh.get("/ready")
    samples = _samples(fresh)
    buckets = [s for s in samples["blockanalytix_api_request_duration_seconds_bucket"] if s.labels["route"] == "/ready"]
    assert buckets and buckets[-1].labels["le"] == "+Inf" and buckets[-1].value >= 1
    assert [b.value for b in buckets] == sorted(b.value for b in buckets)  # cumulative
    sums = samples["blockanalytix_api_request_duration_seconds_sum"]
    assert any(s.labels == {"method": "GET", "route": "/ready"} and 0 < s.value < 30 for s in sums)
    assert "process_resident_memory_bytes" in samples or "python_info" in samples


def test_metrics_stay_out_of_the_openapi_schema(fresh):
    assert "/metrics" not in fresh.app.openapi()["paths"]
    assert fresh.get("/openapi.json").status_code == 200
    assert _count(_samples(fresh), "/openapi.json", "200") == 1


def test_apps_do_not_share_counters(dataset):
    a = TestClient(create_app(dataset.root, refresh_s=None))
    b = TestClient(create_app(dataset.root, refresh_s=None))
    a.get("/health")
    assert _count(_samples(a), "/health", "200") == 1 and _count(_samples(b), "/health", "200") == 0
