"""A raw table is one registry entry: a throwaway entry reaches the Definitions, the jobs and the written files."""

from collections.abc import Mapping

import dagster as dg
import pyarrow as pa
import pytest

from blockanalytix_assets.definitions import build_definitions
from blockanalytix_assets.ingest.assets import build_raw_ingest
from blockanalytix_assets.ingest.rpc_requests import RangeResponses
from blockanalytix_assets.ingest.tables import RAW_ASSETS, RAW_TABLES, TRACE_ASSETS, RawTable, map_all
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.resources import PipelineSettings, RpcResource, StorageResource
from blockanalytix_assets.storage import Storage
from blockanalytix_tests.faultproxy import ReplayNode, recorded

N = 18000000  # mainnet block whose block and receipts are recorded (Erigon rpc-tests)
KEY = format_key(N, N)
MINERS = pa.schema([("number", pa.int64()), ("miner", pa.string())])


def _miners(r: RangeResponses, mapped: Mapping[str, pa.Table]) -> pa.Table:
    return pa.table({"number": [int(b["number"], 16) for b in r.blocks], "miner": [b["miner"] for b in r.blocks]})


THROWAWAY = RawTable(
    "raw_block_miners",
    MINERS,
    "Each block's miner (a test entry).",
    ("number", "miner"),
    ("eth_getBlockByNumber",),
    _miners,
)
TABLES = (*RAW_TABLES, THROWAWAY)
TABLES_NAMES = [t.name for t in TABLES]


@pytest.fixture(scope="module")
def node():
    recordings = []
    for name in ("eth_getBlockByNumber_18000000", "eth_getBlockReceipts_18000000"):
        req, result = recorded(f"erigon/{name}.json.gz")
        recordings.append((req["method"], req["params"], result))
    with ReplayNode(recordings, head=N) as n:
        yield n


def test_a_new_entry_is_in_the_definitions_and_the_ingest_jobs(monkeypatch):
    monkeypatch.setenv("BLOCKANALYTIX_RPC_URL", "http://127.0.0.1:8545")
    defs = build_definitions("local", raw_tables=TABLES)
    key = dg.AssetKey(THROWAWAY.name)
    raw_ingest = defs.resolve_assets_def(THROWAWAY.name)
    assert raw_ingest.node_def.name == "raw_ingest" and set(raw_ingest.keys) == {dg.AssetKey(n) for n in TABLES_NAMES}
    spec = next(s for s in raw_ingest.specs if s.key == key)
    assert spec.group_name == "ingest" and spec.description == THROWAWAY.description
    assert spec.metadata["rpc_methods"].value == ["eth_getBlockByNumber"]
    assert [c.name for c in spec.metadata["dagster/column_schema"].schema.columns] == ["number", "miner"]
    assert key in defs.resolve_job_def("ingest_job").asset_layer.executable_asset_keys
    checks = defs.resolve_job_def("raw_checks_job").asset_layer.asset_graph.asset_check_keys
    assert {k.asset_key.to_user_string() for k in checks} == {"raw_blocks", "raw_transactions", "raw_traces",
                                                              "contracts"}  # fmt: skip
    assert key not in build_definitions("local").resolve_asset_graph().get_all_asset_keys()


def test_a_new_entry_is_fetched_mapped_written_and_described(node, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", [KEY])
    result = dg.materialize(
        [build_raw_ingest(TABLES)],
        partition_key=KEY,
        instance=instance,
        resources={
            "rpc": RpcResource(url=node.url, chain_id=1),
            "storage": StorageResource(root=str(tmp_path)),
            "settings": PipelineSettings(range_size=1, confirmations=0, home=str(tmp_path)),
        },
    )
    assert result.success
    block = recorded("erigon/eth_getBlockByNumber_18000000.json.gz")[1]
    assert Storage(str(tmp_path)).read(THROWAWAY.name, KEY).to_pylist() == [{"number": N, "miner": block["miner"]}]
    mats = {m.asset_key.to_user_string(): m.materialization.metadata for m in result.get_asset_materialization_events()}
    assert set(mats) == set(TABLES_NAMES) - set(TRACE_ASSETS)  # the recording has no trace API: skipped
    md = mats[THROWAWAY.name]
    assert md["rows"].value == md["dagster/row_count"].value == 1
    assert md["first_block"].value == md["last_block"].value == N
    assert (
        md["path"].value == f"{tmp_path}/{THROWAWAY.name}/{KEY}.parquet" and block["miner"][:10] in md["preview"].value
    )
    txs = mats["raw_transactions"]
    assert txs["dagster/row_count"].value == txs["rows"].value == 94
    columns = {c.name: c.type for c in txs["dagster/column_schema"].value.columns}
    assert columns["value"] == "decimal128(38, 0)" and list(columns) == RAW_TABLES[1].schema.names
    # Every method the fetch called is declared by an entry (the chain-id check aside).
    declared = {m for t in RAW_TABLES for m in t.methods}
    assert set(node.calls) - {"eth_chainId"} <= declared and "eth_getBlockReceipts" in node.calls


def test_registry_entries_are_the_raw_assets_and_mappers_are_checked_against_their_schema():
    assert RAW_ASSETS == ("raw_blocks", "raw_transactions", "raw_logs", "token_transfers")
    assert all(t.preview and set(t.preview) <= set(t.schema.names) and t.methods for t in RAW_TABLES)
    block = recorded("erigon/eth_getBlockByNumber_18000000.json.gz")[1]
    receipts = recorded("erigon/eth_getBlockReceipts_18000000.json.gz")[1]
    responses = RangeResponses([block], {N: receipts})
    mapped = map_all(responses, TABLES)
    # mapped from raw_logs; the trace tables need answers with traces
    assert list(mapped) == [n for n in TABLES_NAMES if n not in TRACE_ASSETS] and mapped["token_transfers"].num_rows
    assert TRACE_ASSETS == ("raw_traces", "internal_transfers", "contracts", "tokens")
    wrong = RawTable("raw_wrong", MINERS, "A mapper that breaks its schema.", ("number",), ("eth_getBlockByNumber",),
                     lambda r, _: pa.table({"number": [1]}))  # fmt: skip
    with pytest.raises(TypeError, match="raw_wrong"):
        map_all(responses, (*RAW_TABLES, wrong))
