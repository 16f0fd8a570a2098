"""The API on an s3:// root (moto): DuckDB reads the layout there through httpfs and answers as it does locally."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pytest
from fastapi.testclient import TestClient

from blockanalytix_assets.api.app import create_app
from blockanalytix_tests.api.dataset import build_dataset

pytestmark = pytest.mark.integration

RANGES = 9  # one level-1 node (ranges 0-7) and a loose leaf in both trees


def test_api_on_s3_answers_as_on_local(s3_root, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_root.endpoint_url)
    remote = build_dataset(s3_root.uri, ranges=RANGES, txs_per_range=30)
    local = build_dataset(str(tmp_path), ranges=RANGES, txs_per_range=30)
    keys = s3_root.server.list_keys(f"{s3_root.prefix}/")
    assert any("/address_profiles/L1/000000000.parquet" in k for k in keys)
    assert any("/transaction_index/_manifest.json" in k for k in keys)

    s3_client = TestClient(create_app(remote.root, refresh_s=None), raise_server_exceptions=False)
    local_client = TestClient(create_app(local.root, refresh_s=None), raise_server_exceptions=False)
    assert s3_client.app.state.queries.engine._s3

    cleaned = local.cleaned[local.keys[3]]
    counts = pc.value_counts(cleaned["to_address"]).to_pylist()
    address = max(counts, key=lambda c: (c["counts"], c["values"]))["values"]
    paths = [
        "/health",
        "/ready",
        "/ranges",
        f"/ranges/{local.keys[0]}/anomalies?limit=20",
        f"/ranges/{local.keys[1]}/anomalies?limit=5&min_score=0.5",
        f"/transactions/{cleaned['hash'][4].as_py()}",
        f"/transactions/{local.cleaned[local.keys[-1]]['hash'][0].as_py()}",
        f"/transactions/0x{'0' * 64}",
        f"/addresses/{address}?limit=5",
        f"/addresses/{next(iter(local.labelled))}",
    ]
    for path in paths:
        got, want = s3_client.get(path), local_client.get(path)
        assert got.status_code == want.status_code, path
        assert got.json() == want.json(), path
    body = s3_client.get(f"/addresses/{address}?limit=5").json()
    assert body["profile"]["active_ranges"] >= 1 and len(body["transactions"]) == 5
    cursor = body["next_cursor"]
    page2 = s3_client.get(f"/addresses/{address}", params={"limit": 5, "cursor": cursor})
    assert page2.json() == local_client.get(f"/addresses/{address}", params={"limit": 5, "cursor": cursor}).json()
