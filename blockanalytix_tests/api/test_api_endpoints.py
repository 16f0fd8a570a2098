"""Each endpoint of the analytics API against a hand-built data set: answers, errors, caching."""

from __future__ import annotations

import os
import time

import pyarrow.compute as pc
import pytest

from blockanalytix_assets.storage import Storage

KEY0 = "000000000-000000099"


def test_health_counts_ranges(client, dataset):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "ranges": len(dataset.keys), "scored_ranges": len(dataset.keys)}


def test_ranges_summarise_each_range(client, dataset):
    body = client.get("/ranges").json()
    assert [r["key"] for r in body["ranges"]] == dataset.keys
    first = body["ranges"][0]
    scores = dataset.scores[KEY0]
    expected = pc.sum(pc.greater_equal(scores["anomaly_score"], scores["threshold"])).as_py()
    assert first["anomalies"] == expected and first["transactions"] == dataset.cleaned[KEY0].num_rows
    assert (first["first_block"], first["last_block"], first["ingested"], first["scored"]) == (
        0,
        99,
        True,
        True,
    )
    assert first["threshold"] == pytest.approx(0.6)
    assert [r["classifier_version"] for r in body["ranges"]] == ["v1", "v2"]


def test_anomalies_ranked_limited_and_filtered(client, dataset):
    body = client.get(f"/ranges/{KEY0}/anomalies", params={"limit": 5}).json()
    rows = body["anomalies"]
    assert [a["rank"] for a in rows] == [1, 2, 3, 4, 5]
    assert body["total"] == dataset.scores[KEY0].num_rows
    scores = [a["anomaly_score"] for a in rows]
    assert scores == sorted(scores, reverse=True)
    assert all(len(a["reasons"]) == 3 and a["above_threshold"] == (a["anomaly_score"] >= 0.6) for a in rows)
    filtered = client.get(f"/ranges/{KEY0}/anomalies", params={"min_score": 0.6, "limit": 1000}).json()
    assert filtered["total"] == len(filtered["anomalies"]) > 0
    assert all(a["anomaly_score"] >= 0.6 and a["above_threshold"] for a in filtered["anomalies"])
    labelled = [a for a in filtered["anomalies"] if a["is_labelled"]]
    assert labelled and all(a["label"] in dataset.labelled.values() for a in labelled)


def test_transaction_with_its_score(client, dataset):
    row = dataset.cleaned[KEY0].slice(7, 1).to_pylist()[0]
    body = client.get(f"/transactions/{row['hash'].upper().replace('0X', '0x')}").json()
    assert body["hash"] == row["hash"] and body["partition_key"] == KEY0
    assert body["block_number"] == row["block_number"] and body["value_wei"] == str(row["value"])
    assert body["value_eth"] == pytest.approx(row["value_eth"])
    assert body["score"]["hash"] == row["hash"] and 0.0 <= body["score"]["anomaly_score"] <= 1.0


def test_address_risk_labels_and_anomalous_transactions(client, dataset):
    address, typology = next(iter(dataset.labelled.items()))
    body = client.get(f"/addresses/{address.upper().replace('0X', '0x')}").json()
    assert body["address"] == address
    assert body["labels"] == [
        {"label": typology, "category": "devnet_typology", "source": "devnet", "first_seen": None}
    ]
    newest = [k for k in dataset.keys if address in dataset.risk[k]["address"].to_pylist()][-1]
    assert body["risk"]["partition_key"] == newest and body["risk"]["risk_score"] == pytest.approx(0.9)
    txs = body["anomalous_transactions"]
    assert txs and all(address in (t["from_address"], t["to_address"]) and t["above_threshold"] for t in txs)
    blocks = [t["block_number"] for t in txs]
    assert blocks == sorted(blocks, reverse=True)


@pytest.mark.parametrize(
    ("path", "status", "fragment"),
    [
        ("/addresses/0x1234", 400, "address"),
        ("/addresses/0x" + "g" * 40, 400, "address"),
        ("/transactions/0xabc", 400, "tx_hash"),
        ("/ranges/not-a-key/anomalies", 400, "key"),
        ("/ranges/000000200-000000100/anomalies", 400, "before first block"),
        (f"/ranges/{KEY0}/anomalies?limit=0", 400, "limit"),
        (f"/ranges/{KEY0}/anomalies?min_score=abc", 400, "min_score"),
        ("/ranges/000000900-000000999/anomalies", 404, "unknown"),
        ("/transactions/0x" + "0" * 64, 404, "not in any stored range"),
        ("/addresses/0x" + "0" * 40, 404, "no score"),
        ("/no/such/route", 404, "Not Found"),
    ],
)
def test_errors_are_json_without_traces(client, path, status, fragment):
    r = client.get(path)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and fragment in body["error"]
    assert "Traceback" not in r.text and 'File "' not in r.text


def test_unscored_range_is_404_with_the_reason(client, dataset):
    store = Storage(dataset.root)
    store.write("raw_blocks", "000000500-000000599", store.read("raw_blocks", KEY0))
    r = client.get("/ranges/000000500-000000599/anomalies")
    assert r.status_code == 404 and "not scored yet" in r.json()["error"]
    assert any(x["key"] == "000000500-000000599" and not x["scored"] for x in client.get("/ranges").json()["ranges"])


def test_a_corrupt_file_is_a_500_json_without_a_trace(dataset, tmp_path):
    from fastapi.testclient import TestClient

    from blockanalytix_assets.api.app import create_app
    from blockanalytix_tests.api.dataset import build_dataset

    ds = build_dataset(str(tmp_path), ranges=1, txs_per_range=10)
    (tmp_path / "anomaly_scores" / f"{ds.keys[0]}.parquet").write_bytes(b"not parquet")
    r = TestClient(create_app(ds.root), raise_server_exceptions=False).get(f"/ranges/{ds.keys[0]}/anomalies")
    assert r.status_code == 500 and r.json() == {"error": "internal error; see the server log"}


def test_reads_are_cached_until_the_file_changes(client, dataset):
    store = Storage(dataset.root)
    key = dataset.keys[-1]
    before = client.get(f"/ranges/{key}/anomalies", params={"limit": 1}).json()
    table = dataset.scores[key]
    bumped = table.set_column(
        table.schema.get_field_index("threshold"), "threshold", pc.multiply(table["threshold"], 0.5)
    )
    path = store.write("anomaly_scores", key, bumped)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a distinct mtime even on coarse clocks
    time.sleep(0.01)
    after = client.get(f"/ranges/{key}/anomalies", params={"limit": 1}).json()
    assert before["threshold"] == pytest.approx(0.6) and after["threshold"] == pytest.approx(0.3)
