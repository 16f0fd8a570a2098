"""The API profile's internal_* fields: exact for an address paid only internally, null where a range is unknown."""

from __future__ import annotations

import pyarrow as pa
from fastapi.testclient import TestClient

from blockanalytix_assets.api.app import create_app
from blockanalytix_assets.features.activity import address_activity
from blockanalytix_assets.index.runs import RunTree
from blockanalytix_assets.index.trees import PROFILE_TREE
from blockanalytix_assets.ingest.schema import INTERNAL_TRANSFERS
from blockanalytix_assets.storage import Storage
from blockanalytix_tests.api.dataset import build_dataset

FRESH = "0x" + "5e" * 20
PAID = [15 * 10**17, 2**70]  # 1.5 ETH and a value beyond 2^64 wei


def _internal(cleaned: pa.Table, to: str) -> pa.Table:
    tx = cleaned.slice(0, 1).to_pylist()[0]
    rows = [dict(block_number=tx["block_number"], block_timestamp=tx["block_timestamp"], transaction_hash=tx["hash"],
                 transaction_index=tx["transaction_index"], trace_id=f"call_{tx['hash']}_{i}", trace_address=[i],
                 trace_type="call", call_type="call", from_address=tx["to_address"], to_address=to, value=v,
                 value_eth=v / 1e18) for i, v in enumerate(PAID)]  # fmt: skip
    return pa.Table.from_pylist(rows, schema=INTERNAL_TRANSFERS)


def _addresses(cleaned: pa.Table) -> set[str]:
    return {a for c in ("from_address", "to_address") for a in cleaned.column(c).to_pylist()}


def test_profile_internal_fields_through_a_node_and_a_loose_leaf(tmp_path):
    ds = build_dataset(str(tmp_path), ranges=10, txs_per_range=20, trees=False)
    store = Storage(ds.root)
    for i, key in enumerate(ds.keys):  # ranges 0 and 9 as written before internal_* existed; the others traced
        internal = _internal(ds.cleaned[key], FRESH) if i == 8 else INTERNAL_TRANSFERS.empty_table()
        act = address_activity(ds.cleaned[key], None, i, internal)
        if i in (0, 9):
            act = act.drop_columns([c for c in act.column_names if c.startswith("internal_")])
        store.write("address_activity", key, act)
    RunTree(store, PROFILE_TREE).update()  # a level-1 node over ranges 0-7 (it merges an old file), 8 and 9 loose
    assert (tmp_path / "address_profiles" / "L1").is_dir()
    client = TestClient(create_app(ds.root, refresh_s=None), raise_server_exceptions=False)

    fresh = client.get(f"/addresses/{FRESH}").json()["profile"]
    assert fresh["internal_ether_received_wei"] == str(sum(PAID)) and fresh["internal_received_count"] == 2
    assert fresh["internal_ether_received"] == sum(PAID) / 1e18 and fresh["internal_counterparties"] == 1
    assert fresh["internal_ether_sent"] == 0.0 and fresh["sent_count"] == fresh["received_count"] == 0
    for key in (ds.keys[0], ds.keys[9]):  # merged into the node; read from the old file itself
        old = ds.cleaned[key].column("from_address")[0].as_py()
        profile = client.get(f"/addresses/{old}").json()["profile"]
        assert profile["sent_count"] > 0
        assert all(profile[f] is None for f in ("internal_ether_sent_wei", "internal_sent_count",
                                                "internal_counterparties"))  # fmt: skip
    elsewhere = {a for k in (ds.keys[0], ds.keys[8], ds.keys[9]) for a in _addresses(ds.cleaned[k])}
    only_traced = sorted(_addresses(ds.cleaned[ds.keys[5]]) - elsewhere)
    assert only_traced and client.get(f"/addresses/{only_traced[0]}").json()["profile"]["internal_sent_count"] == 0
