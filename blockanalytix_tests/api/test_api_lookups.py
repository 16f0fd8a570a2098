"""Lookups through the run trees, paging cursors, the catalog and the footer summaries."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from fastapi.testclient import TestClient

from blockanalytix_assets.api.app import create_app
from blockanalytix_assets.api.summaries import parse_summary, score_summary, summary_metadata
from blockanalytix_assets.features.activity import address_activity
from blockanalytix_assets.features.profiles import merge_activity, profile_records
from blockanalytix_assets.index.runs import RunTree
from blockanalytix_assets.index.trees import TX_INDEX_TREE
from blockanalytix_assets.storage import Storage
from blockanalytix_tests.api.dataset import Dataset, build_dataset

RANGES = 10  # fan-out 8: one level-1 node over ranges 0-7, ranges 8 and 9 loose leaves


@pytest.fixture(scope="module")
def tree_dataset(tmp_path_factory) -> Dataset:
    return build_dataset(str(tmp_path_factory.mktemp("api-trees")), ranges=RANGES, txs_per_range=50, seed=3)


@pytest.fixture(scope="module")
def tree_client(tree_dataset) -> TestClient:
    return TestClient(create_app(tree_dataset.root, refresh_s=None), raise_server_exceptions=False)


def _address_txs(ds: Dataset, address: str) -> list[tuple[int, int, str]]:
    rows = []
    for key in ds.keys:
        t = ds.cleaned[key]
        hit = t.filter(pc.or_(pc.equal(t["from_address"], address), pc.equal(t["to_address"], address)))
        rows += [(r["block_number"], r["transaction_index"], key) for r in hit.to_pylist()]
    return sorted(rows, reverse=True)


def _busy_address(ds: Dataset) -> str:
    counts = pc.value_counts(pa.chunked_array([ds.cleaned[k]["to_address"] for k in ds.keys]))
    return max(counts.to_pylist(), key=lambda c: c["counts"])["values"]


def test_the_trees_have_a_node_and_loose_leaves(tree_client, tree_dataset):
    cover = tree_client.app.state.queries.catalog.snapshot.covers
    for name in ("address_profiles", "transaction_index"):
        assert [p.level for p in cover[name]] == [1, 0, 0], name


def test_every_range_s_transactions_are_found_by_hash(tree_client, tree_dataset):
    for key in tree_dataset.keys:
        row = tree_dataset.cleaned[key].slice(11, 1).to_pylist()[0]
        body = tree_client.get(f"/transactions/{row['hash']}").json()
        assert body["partition_key"] == key and body["block_number"] == row["block_number"]
        assert body["score"]["hash"] == row["hash"]


def test_a_hash_lookup_reads_the_index_and_one_range(tree_client, tree_dataset, monkeypatch):
    engine = tree_client.app.state.queries.engine
    seen: list[str] = []
    original = engine.query
    monkeypatch.setattr(engine, "query", lambda sql, params=(): seen.append(sql) or original(sql, params))
    key = tree_dataset.keys[2]  # inside the level-1 node
    row = tree_dataset.cleaned[key].slice(5, 1).to_pylist()[0]
    assert tree_client.get(f"/transactions/{row['hash']}").status_code == 200
    text = "\n".join(seen)
    assert "transaction_index/L1" in text
    read = {k for k in tree_dataset.keys if f"cleaned_transactions/{k}" in text}
    assert read == {key, *tree_dataset.keys[8:]}  # the candidate range and the loose leaves only


def test_profile_equals_the_merge_of_every_range(tree_client, tree_dataset):
    address = _busy_address(tree_dataset)
    body = tree_client.get(f"/addresses/{address}").json()
    activity = [address_activity(tree_dataset.cleaned[k], None, i) for i, k in enumerate(tree_dataset.keys)]
    merged = merge_activity(activity)
    expected = profile_records(merged.filter(pc.equal(merged["address"], address)))[0]
    assert body["profile"] == pytest.approx(expected)
    txs = _address_txs(tree_dataset, address)
    assert body["profile"]["transaction_count"] == len(txs)
    assert body["profile"]["active_ranges"] == len({k for *_, k in txs})


def test_address_transactions_page_newest_first_to_the_end(tree_client, tree_dataset):
    address = _busy_address(tree_dataset)
    expected = _address_txs(tree_dataset, address)
    assert len(expected) > 14
    got, cursor, pages = [], None, 0
    while True:
        params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        body = tree_client.get(f"/addresses/{address}", params=params).json()
        assert len(body["transactions"]) <= 7
        got += [(t["block_number"], t["transaction_index"], t["partition_key"]) for t in body["transactions"]]
        assert all(t["score"] and t["score"]["hash"] == t["hash"] for t in body["transactions"])
        pages, cursor = pages + 1, body["next_cursor"]
        if cursor is None:
            break
    assert got == expected and pages == -(-len(expected) // 7)


def test_anomaly_pages_join_up(client, dataset):
    key = dataset.keys[0]
    whole = client.get(f"/ranges/{key}/anomalies", params={"limit": 1000}).json()
    assert whole["next_cursor"] is None
    got, cursor = [], None
    while True:
        body = client.get(f"/ranges/{key}/anomalies", params={"limit": 50} | ({"cursor": cursor} if cursor else {}))
        body = body.json()
        assert body["total"] == whole["total"] and len(body["anomalies"]) <= 50
        got += body["anomalies"]
        if (cursor := body["next_cursor"]) is None:
            break
    assert got == whole["anomalies"]


def test_ranges_page_by_key(tree_client, tree_dataset):
    first = tree_client.get("/ranges", params={"limit": 4}).json()
    assert [r["key"] for r in first["ranges"]] == tree_dataset.keys[:4] and first["next_cursor"] == tree_dataset.keys[3]
    rest = tree_client.get("/ranges", params={"limit": 10, "cursor": first["next_cursor"]}).json()
    assert [r["key"] for r in rest["ranges"]] == tree_dataset.keys[4:] and rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("/ranges/000000000-000000099/anomalies?cursor=%21%21", "cursor"),
        ("/ranges/000000000-000000099/anomalies?cursor=bm9wZQ", "invalid cursor"),
        ("/addresses/0x" + "1" * 40 + "?cursor=MQ", "invalid cursor"),
        ("/addresses/0x" + "1" * 40 + "?limit=201", "limit"),
        ("/ranges?cursor=nope", "cursor"),
        ("/ranges?limit=10001", "limit"),
    ],
)
def test_bad_paging_parameters_are_400(client, path, fragment):
    r = client.get(path)
    assert r.status_code == 400 and fragment in r.json()["error"]


def test_health_reads_only_the_catalog_and_ready_lists_storage(dataset, monkeypatch):
    app = create_app(dataset.root, refresh_s=None)
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/ready").json() == {"status": "ready"}

    def unreachable(self):
        raise OSError("storage down")

    monkeypatch.setattr(Storage, "_fs", unreachable)
    assert client.get("/health").json()["ranges"] == len(dataset.keys)
    r = client.get("/ready")
    assert r.status_code == 503 and "unreachable" in r.json()["error"]


def test_a_new_range_is_found_before_the_tree_folds_it_in(tmp_path):
    ds = build_dataset(str(tmp_path / "a"), ranges=2, txs_per_range=20)
    client = TestClient(create_app(ds.root, refresh_s=None), raise_server_exceptions=False)
    later = build_dataset(str(tmp_path / "b"), ranges=3, txs_per_range=20, seed=99, trees=False)
    store, key = Storage(ds.root), later.keys[2]
    store.write("cleaned_transactions", key, later.cleaned[key])
    client.app.state.queries.catalog.refresh()
    tx = later.cleaned[key]["hash"][0].as_py()
    assert client.get(f"/transactions/{tx}").json()["partition_key"] == key
    RunTree(store, TX_INDEX_TREE).update()
    assert client.get(f"/transactions/{tx}").json()["partition_key"] == key


def test_footer_summary_equals_the_computed_one(dataset):
    table = dataset.scores[dataset.keys[1]]
    summary = parse_summary(summary_metadata(table))
    assert summary == score_summary(table) and summary["rows"] == table.num_rows
    app = create_app(dataset.root, refresh_s=None)
    computed = app.state.queries.catalog._computed_summary("anomaly_scores", dataset.keys[1])
    assert {k: computed[k] for k in summary} == pytest.approx(summary)
    assert parse_summary({b"blockanalytix.summary": b"not json"}) is None and parse_summary(None) is None


def test_the_api_imports_no_training_or_orchestration_stack():
    code = (
        "import sys, blockanalytix_assets.api.app, blockanalytix_assets.api.cli;"
        "print(sorted(m for m in ('dagster', 'tensorflow', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
