"""Range backfills and the nightly repair cover the trace tables unless BLOCKANALYTIX_TRACES is off or the node
has no trace API; without traces they also leave out what is made from the trace tables alone."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.ingest.assets import raw_ingest
from blockanalytix_assets.ingest.replay import recording_line
from blockanalytix_assets.ingest.rpc_requests import trace_calls
from blockanalytix_assets.ingest.tables import RAW_ASSETS, TRACE_ASSETS
from blockanalytix_assets.operations.jobs import (
    keys_needing_repair,
    launch_repair,
    per_range_assets,
    repair_job,
    traces_wanted,
)
from blockanalytix_assets.partitions import block_ranges
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.resources import PipelineSettings, ReplayRpcResource, RpcResource, StorageResource

KEYS = [format_key(0, 9), format_key(10, 19)]


@dg.asset(partitions_def=block_ranges, deps=[tn.RAW_TRACES])
def from_traces() -> None:
    """A per-range table made from raw_traces alone."""


@dg.asset(partitions_def=block_ranges, deps=[tn.RAW_TRACES, tn.RAW_TRANSACTIONS])
def with_traces_where_stored() -> None:
    """A per-range table of transactions that adds trace figures where raw_traces is stored (as the features do)."""


def _defs(rpc: RpcResource, root: Path) -> dg.Definitions:
    settings = PipelineSettings(range_size=10, confirmations=0, home=str(root))
    resources = {"rpc": rpc, "storage": StorageResource(root=str(root)), "settings": settings}
    assets = [raw_ingest, from_traces, with_traces_where_stored]
    return dg.Definitions(assets=assets, jobs=[repair_job], resources=resources)


def _names(keys: list[dg.AssetKey]) -> set[str]:
    return {k.to_user_string() for k in keys}


def _no_trace_node(tmp_path: Path) -> ReplayRpcResource:
    """A node (recorded answers) that serves chain 31337 and answers both trace methods 'method not found'."""
    missing = {"error": {"code": -32601, "message": "the method does not exist/is not available"}}
    lines = [recording_line("eth_chainId", [], {"result": "0x7a69"})]
    lines += [recording_line(m, p, missing) for api in ("parity", "geth") for m, p in trace_calls([1, 10], api)]
    path = tmp_path / "no_traces.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return ReplayRpcResource(recording=str(path), chain_id=31337)


def test_without_traces_the_trace_tables_and_what_only_they_feed_are_left_out(replay_rpc, tmp_path):
    graph = _defs(replay_rpc.resource(), tmp_path).resolve_asset_graph()
    with_traces, without = _names(per_range_assets(graph, True)), _names(per_range_assets(graph, False))
    assert {*RAW_ASSETS, *TRACE_ASSETS, "from_traces", "with_traces_where_stored"} <= with_traces
    assert with_traces - without == {*TRACE_ASSETS, "from_traces"}
    assert {*RAW_ASSETS, "with_traces_where_stored"} <= without


def test_traces_wanted_follows_the_mode_and_asks_the_node_in_auto(replay_rpc, tmp_path):
    nowhere = "http://127.0.0.1:9"  # nothing listens: off, parity and geth must not ask
    assert not traces_wanted(RpcResource(url=nowhere, chain_id=31337, traces="off"), 1)
    assert traces_wanted(RpcResource(url=nowhere, chain_id=31337, traces="parity"), 1)
    assert traces_wanted(RpcResource(url=nowhere, chain_id=31337, traces="geth"), 1)
    assert traces_wanted(replay_rpc.resource(traces="auto"), 1)  # the devnet's anvil serves trace_block
    assert not traces_wanted(_no_trace_node(tmp_path), 1)
    # a node that does not answer: the backfill keeps the trace tables, and its ingest step says what is wrong
    assert traces_wanted(RpcResource(url=nowhere, chain_id=31337, traces="auto", max_retries=0), 1)


def test_repair_backfills_a_range_missing_raw_traces_unless_traces_are_off(replay_rpc, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", KEYS)
    for name, keys in [*((n, KEYS) for n in RAW_ASSETS), *((n, KEYS[:1]) for n in TRACE_ASSETS)]:
        for key in keys:
            instance.report_runless_asset_event(dg.AssetMaterialization(name, partition=key))
    defs = _defs(replay_rpc.resource(), tmp_path)
    graph = defs.resolve_asset_graph()
    assert keys_needing_repair(instance, graph, traces=True) == [KEYS[1]]
    assert keys_needing_repair(instance, graph, traces=False) == []

    for rpc in (replay_rpc.resource(traces="off"), _no_trace_node(tmp_path)):
        assert launch_repair(instance, graph, rpc) == (None, [])  # nothing to repair: raw_traces cannot exist there
    backfill_id, keys = launch_repair(instance, graph, replay_rpc.resource())
    (backfill,) = instance.get_backfills()
    assert backfill.backfill_id == backfill_id and keys == [KEYS[1]]
    subset = backfill.asset_backfill_data.target_subset
    for name in [*RAW_ASSETS, *TRACE_ASSETS, "from_traces", "with_traces_where_stored"]:
        assert list(subset.get_partitions_subset(dg.AssetKey(name)).get_partition_keys()) == [KEYS[1]], name
