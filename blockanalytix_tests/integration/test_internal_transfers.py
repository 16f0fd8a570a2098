"""internal_transfers and the internal_* features on an anvil chain: the forwarder pays a[5] 1 ETH internally.

raw_ingest, cleaning and the feature assets in one run, with traces (parity and geth agree) and without them
(BLOCKANALYTIX_TRACES=off: internal_transfers is not written, the feature assets still run, internal_* is null).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from blockanalytix_assets.devnet.anvil import Anvil
from blockanalytix_assets.devnet.rpc import DevnetRpc
from blockanalytix_assets.features.assets import (
    address_activity_asset,
    address_features_asset,
    transaction_features_asset,
)
from blockanalytix_assets.features.internal import INTERNAL_ADDRESS_FEATURE_COLUMNS, INTERNAL_TX_FEATURE_COLUMNS
from blockanalytix_assets.ingest.assets import raw_ingest
from blockanalytix_assets.ingest.extract import extract_range
from blockanalytix_assets.ingest.internal_mapping import map_internal_transfers
from blockanalytix_assets.ingest.rpc import RpcClient
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.resources import PipelineSettings, RpcResource, StorageResource
from blockanalytix_assets.storage import Storage
from blockanalytix_assets.transform.assets import cleaned_transactions
from blockanalytix_tests.plugins.integration import starts_processes
from blockanalytix_tests.trace_chain import build

LAST = 7
KEY = format_key(0, LAST)
ETH = 10**18


@pytest.fixture(scope="module")
@starts_processes
def chain():
    with Anvil() as node:
        contracts = build(node.url)
        rpc = DevnetRpc(node.url)
        accounts = rpc.call("eth_accounts")
        while int(rpc.call("eth_blockNumber"), 16) < LAST:
            rpc.call("evm_mine")
        rpc.close()
        yield node.url, accounts, contracts["forwarder"]


def _run(url: str, root: Path, traces: str) -> Storage:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", [KEY])
    resources = {
        "rpc": RpcResource(url=url, chain_id=31337, traces=traces),
        "storage": StorageResource(root=str(root)),
        "settings": PipelineSettings(range_size=LAST + 1, confirmations=0, home=str(root)),
    }
    assets = [raw_ingest, cleaned_transactions, transaction_features_asset, address_activity_asset,
              address_features_asset]  # fmt: skip
    assert dg.materialize(assets, partition_key=KEY, instance=instance, resources=resources).success
    return Storage(str(root))


def _by_address(store: Storage) -> dict[str, dict]:
    return {r["address"]: r for r in store.read("address_features", KEY).to_pylist()}


def test_the_forwarders_internal_payment_reaches_the_recipients_features(chain, tmp_path):
    url, a, fwd = chain
    store = _run(url, tmp_path, "parity")
    rows = store.read("internal_transfers", KEY).to_pylist()
    # the forwarder passes each call's value to the first calldata address; its other inner frames move nothing
    assert [(r["from_address"], r["to_address"], r["value"], r["trace_address"]) for r in rows] == [
        (fwd, a[5], ETH, [0]),
        (fwd, a[7], 7, [0]),
    ]
    assert rows[0]["value_eth"] == 1.0 and rows[0]["block_timestamp"] > 0
    features = _by_address(store)
    assert features[a[5]]["internal_ether_received"] == 1.0 and features[a[5]]["internal_received_count"] == 1
    assert features[a[5]]["received_tnx"] == 0  # known only from the trace
    assert features[fwd]["internal_sent_count"] == 2 and features[fwd]["internal_counterparties"] == 2
    assert features[a[6]]["internal_ether_received"] == 0.0  # a plain transfer: traced, no internal value
    txs = {r["hash"]: r for r in store.read("transaction_features", KEY).to_pylist()}
    paid = txs[rows[0]["transaction_hash"]]
    assert paid["internal_transfer_count"] == 1.0 and paid["internal_value_eth"] == 1.0
    assert sum(t["internal_transfer_count"] for t in txs.values()) == 2
    stored = store.read("internal_transfers", KEY)
    assert map_internal_transfers(store.read("raw_traces", KEY), store.read("raw_blocks", KEY)).equals(stored)
    with RpcClient(url) as client:
        client.trace_api = "geth"
        geth = extract_range(client, 0, LAST)["internal_transfers"]
    assert geth.equals(stored)


def test_without_traces_the_features_run_and_internal_columns_are_null(chain, tmp_path):
    url, a, _ = chain
    store = _run(url, tmp_path, "off")
    assert not store.exists("internal_transfers", KEY) and store.exists("address_features", KEY)
    features = _by_address(store)
    assert a[5] not in features  # nothing shows its internal payment without traces
    assert all(r[c] is None for r in features.values() for c in INTERNAL_ADDRESS_FEATURE_COLUMNS)
    txs = store.read("transaction_features", KEY)
    assert all(txs.column(c).null_count == txs.num_rows > 0 for c in INTERNAL_TX_FEATURE_COLUMNS)
