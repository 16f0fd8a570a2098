"""Launching real Dagster backfills of block ranges (used by the repair job and `blockanalytix backfill`)."""

import time
from collections.abc import Iterable

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph import AssetGraph
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from blockanalytix_assets.ingest.rpc_errors import RpcError
from blockanalytix_assets.ingest.tables import RAW_ASSETS, TRACE_ASSETS
from blockanalytix_assets.operations.repair import ranges_to_repair
from blockanalytix_assets.partitions import BLOCK_RANGES, block_ranges
from blockanalytix_assets.ranges import parse_key
from blockanalytix_assets.resources import RpcResource

COMPLETED = {AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED}


def raw_assets(traces: bool) -> tuple[str, ...]:
    """The raw tables a backfill and the repair cover: the registry's, its trace tables only with traces."""
    return (*RAW_ASSETS, *TRACE_ASSETS) if traces else RAW_ASSETS


def traces_wanted(rpc: RpcResource, block: int) -> bool:
    """Whether backfills cover the trace tables: BLOCKANALYTIX_TRACES is not off (auto: the node, asked once at
    block, serves a trace API; else a nightly repair would re-run every range for a table it cannot have)."""
    if rpc.traces != "auto":
        return rpc.traces != "off"
    try:
        with rpc.client() as client:
            return client.probe_traces(rpc.traces, block) is not None
    except RpcError:
        return True  # the node does not answer now (or serves another chain): the ingest step fails and says why


def per_range_assets(asset_graph: AssetGraph, traces: bool = True) -> list[dg.AssetKey]:
    """The raw assets and every block_ranges asset downstream whose inputs are all per-range too.

    An asset that also reads a model-wide table (anomaly_report reads anomaly_scores) is left to its own
    schedule or sensor: a range backfill cannot produce that input, so the step would fail. Without traces
    the trace tables are left out, and so is what is made from them alone; an asset that also reads a table
    every range has stays (it copes without traces, as the features without internal_transfers do)."""
    keys = {dg.AssetKey(a) for a in raw_assets(traces)}
    left_out = {dg.AssetKey(a) for a in TRACE_ASSETS} - keys
    frontier = list(keys)
    while frontier:
        for child in asset_graph.get(frontier.pop()).child_keys:
            node = asset_graph.get(child)
            if child in keys or child in left_out or node.partitions_def != block_ranges:
                continue
            if all(asset_graph.get(p).partitions_def == block_ranges for p in node.parent_keys):
                keys.add(child)
                frontier.append(child)
    return sorted(keys, key=lambda k: k.to_user_string())


def launch_backfill(
    instance: dg.DagsterInstance,
    asset_graph: AssetGraph,
    keys: list[str],
    title: str,
    tags: dict[str, str] | None = None,
    traces: bool = True,
) -> str:
    """Register the keys as partitions if needed and submit one asset backfill (with traces: of the trace tables
    too); returns its id."""
    from dagster._core.execution.backfill import PartitionBackfill
    from dagster._core.utils import make_new_backfill_id

    existing = set(instance.get_dynamic_partitions(BLOCK_RANGES))
    missing = [k for k in keys if k not in existing]
    if missing:
        instance.add_dynamic_partitions(BLOCK_RANGES, missing)
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=make_new_backfill_id(),
        asset_graph=asset_graph,
        partition_names=keys,
        asset_selection=per_range_assets(asset_graph, traces),
        backfill_timestamp=time.time(),
        tags=tags or {},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=title,
        description=f"{len(keys)} block ranges, {keys[0]} .. {keys[-1]}",
        run_config=None,
    )
    instance.add_backfill(backfill)
    return backfill.backfill_id


def failed_check_partitions(
    instance: dg.DagsterInstance, check_keys: Iterable[dg.AssetCheckKey]
) -> dict[str, set[str]]:
    """Per check, the partitions whose latest evaluation failed."""
    out: dict[str, set[str]] = {}
    for ck in check_keys:
        history = instance.event_log_storage.get_asset_check_execution_history(ck, limit=100_000)
        latest: dict[str, bool] = {}
        for rec in history:  # newest first: keep the latest completed evaluation per partition
            if rec.partition is not None and rec.partition not in latest and rec.status in COMPLETED:
                latest[rec.partition] = rec.status == AssetCheckExecutionRecordStatus.SUCCEEDED
        out[ck.to_user_string()] = {p for p, ok in latest.items() if not ok}
    return out


def keys_needing_repair(instance: dg.DagsterInstance, asset_graph: AssetGraph, traces: bool = True) -> list[str]:
    """Registered ranges missing a raw asset (a trace table too, with traces), whose run failed, or whose latest
    check failed."""
    names = raw_assets(traces)
    raw = {dg.AssetKey(a) for a in names}
    check_keys = [k for k in asset_graph.asset_check_keys if k.asset_key in raw]
    materialized = {a: instance.get_materialized_partitions(dg.AssetKey(a)) for a in names}
    return ranges_to_repair(
        instance.get_dynamic_partitions(BLOCK_RANGES),
        materialized,
        failed_check_partitions(instance, check_keys),
    )


def launch_repair(
    instance: dg.DagsterInstance, asset_graph: AssetGraph, rpc: RpcResource
) -> tuple[str | None, list[str]]:
    """Launch one backfill of the ranges needing repair (of the trace tables too where traces are wanted): its id
    (None when every range is whole) and the keys."""
    registered = instance.get_dynamic_partitions(BLOCK_RANGES)
    traces = traces_wanted(rpc, parse_key(registered[-1]).first if registered else 1)  # asked at the newest range
    keys = keys_needing_repair(instance, asset_graph, traces)
    if not keys:
        return None, keys
    tags = {"blockanalytix/purpose": "repair"}
    return launch_backfill(instance, asset_graph, keys, title="nightly repair", tags=tags, traces=traces), keys


@dg.op(description="Find ranges that are missing, failed or failed a check, and launch one backfill for them.")
def launch_repair_backfill(context: dg.OpExecutionContext, rpc: RpcResource) -> None:
    backfill_id, keys = launch_repair(context.instance, context.repository_def.asset_graph, rpc)
    if backfill_id is None:
        context.log.info("every registered range is materialised and passes its checks")
        return
    context.log.info(f"launched backfill {backfill_id} for {len(keys)} ranges: {keys[0]} .. {keys[-1]}")


@dg.job(description="Repairs block ranges by launching a Dagster backfill (see the Backfills page).")
def repair_job() -> None:
    launch_repair_backfill()
