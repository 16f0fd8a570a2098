"""Start-up does not wait for range summaries: /health answers at once, /ranges waits for the first full refresh."""

import threading
import time

from fastapi.testclient import TestClient

from blockanalytix_assets.api import catalog as catalog_module
from blockanalytix_assets.api.app import create_app


def test_health_answers_before_the_footers_are_read_and_ranges_waits_for_them(dataset, monkeypatch):
    release = threading.Event()
    read = catalog_module.Catalog._footer

    def slow_footer(self, asset: str, key: str) -> dict:
        release.wait(30)  # footers stay unread until the test lets them go
        return read(self, asset, key)

    monkeypatch.setattr(catalog_module.Catalog, "_footer", slow_footer)
    t0 = time.perf_counter()
    client = TestClient(create_app(dataset.root, refresh_s=60.0))
    health = client.get("/health")
    assert time.perf_counter() - t0 < 10 and health.status_code == 200
    assert health.json()["ranges"] == len(dataset.keys)  # from the listing alone
    ranges: dict = {}
    waiter = threading.Thread(target=lambda: ranges.update(client.get("/ranges").json()))
    waiter.start()
    time.sleep(0.5)
    assert waiter.is_alive(), "/ranges answered before any summary was read"
    release.set()
    waiter.join(30)
    assert [r["transactions"] for r in ranges["ranges"]] == [dataset.cleaned[k].num_rows for k in dataset.keys]
