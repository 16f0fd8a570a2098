"""Lookups through sharded run-tree nodes: one shard per node is read, answers equal the unsharded ones."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from blockanalytix_assets.api.app import create_app
from blockanalytix_assets.index.runs import RunTree
from blockanalytix_assets.index.trees import PROFILE_TREE, TX_INDEX_TREE
from blockanalytix_assets.storage import Storage
from blockanalytix_tests.api.dataset import Dataset, build_dataset
from blockanalytix_tests.api.test_api_lookups import _busy_address

RANGES = 10  # one level-1 node over ranges 0-7 (sharded), ranges 8 and 9 loose leaves


@pytest.fixture(scope="module")
def sharded(tmp_path_factory) -> tuple[Dataset, TestClient, TestClient]:
    """The same data set twice: trees with small shards and with whole nodes; a client over each."""
    roots = {name: str(tmp_path_factory.mktemp(f"api-{name}")) for name in ("sharded", "whole")}
    clients = {}
    for name, root in roots.items():
        ds = build_dataset(root, ranges=RANGES, txs_per_range=50, seed=3, trees=False)
        for spec in (PROFILE_TREE, TX_INDEX_TREE):
            RunTree(Storage(root), replace(spec, shard_rows=25 if name == "sharded" else spec.shard_rows)).update()
        clients[name] = TestClient(create_app(root, refresh_s=None), raise_server_exceptions=False)
    return ds, clients["sharded"], clients["whole"]


def test_nodes_are_sharded_and_each_shard_has_its_own_token(sharded):
    _, client, _ = sharded
    snap = client.app.state.queries.catalog.snapshot
    for name in ("address_profiles", "transaction_index"):
        shards = [p for p in snap.covers[name] if p.level == 1]
        assert len(shards) > 2 and [p.shard for p in shards] == list(range(len(shards))), name
        assert all(a.key_max < b.key_min for a, b in zip(shards, shards[1:], strict=False))
        assert len({snap.tokens[p.path] for p in shards}) == len(shards)


def test_a_hash_lookup_reads_one_index_shard(sharded, monkeypatch):
    ds, client, _ = sharded
    engine = client.app.state.queries.engine
    for key in ds.keys:
        row = ds.cleaned[key].slice(7, 1).to_pylist()[0]
        seen: list[str] = []
        original = engine.query
        monkeypatch.setattr(engine, "query", lambda sql, params=(), o=original, s=seen: s.append(sql) or o(sql, params))
        body = client.get(f"/transactions/{row['hash']}").json()
        monkeypatch.undo()
        assert body["partition_key"] == key and body["block_number"] == row["block_number"]
        assert "\n".join(seen).count("transaction_index/L1/") == 1, key


def test_a_profile_reads_one_shard_per_node_and_equals_the_unsharded_one(sharded, monkeypatch):
    ds, client, whole = sharded
    points = client.app.state.queries.points
    opened: list[str] = []
    original = points.lookup
    monkeypatch.setattr(points, "lookup", lambda path, *a: opened.append(path) or original(path, *a))
    address = _busy_address(ds)
    body = client.get(f"/addresses/{address}").json()
    assert len([p for p in opened if "/address_profiles/L1/" in p]) == 1
    assert body == whole.get(f"/addresses/{address}").json()
    assert body["profile"]["transaction_count"] > 0
