"""raw_ingest: one RPC fetch per range writes every raw table of the registry (ingest/tables.py)."""

import time
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

import dagster as dg
import pyarrow as pa

from blockanalytix_assets.ingest.extract import BlockSource, IncompleteRangeError, extract_range
from blockanalytix_assets.ingest.mapping_common import MalformedResponseError
from blockanalytix_assets.ingest.rpc_errors import BlockNotFoundError, ChainIdMismatch
from blockanalytix_assets.ingest.tables import RAW_TABLES, RawTable
from blockanalytix_assets.k8s_config import INGEST_K8S_CONFIG
from blockanalytix_assets.metadata import schema_metadata, table_metadata
from blockanalytix_assets.partitions import RANGE_BATCHES, block_ranges, partition_ranges
from blockanalytix_assets.ranges import BlockRange, PartitionKeyError
from blockanalytix_assets.resources import PipelineSettings, RpcResource, StorageResource
from blockanalytix_assets.storage import Storage

if TYPE_CHECKING:
    from blockanalytix_assets.ingest.rpc import RpcClient

INGEST_GROUP = "ingest"  # the raw tables' group: ingest_job and raw_checks_job select it


def _spec(t: RawTable) -> dg.AssetSpec:
    metadata = {**schema_metadata(t.schema), "rpc_methods": dg.MetadataValue.json(list(t.methods))}
    return dg.AssetSpec(
        t.name,
        description=t.description,
        group_name=INGEST_GROUP,
        kinds={"parquet", "ethereum"},
        metadata=metadata,
        skippable=t.needs_traces,  # a node without a trace API skips it; the other tables still materialise
    )


def _permanent() -> tuple[type[Exception], ...]:
    """Errors no retry can fix (bad key, wrong chain, beyond head, broken node output): they fail at once."""
    return PartitionKeyError, ChainIdMismatch, BlockNotFoundError, MalformedResponseError, IncompleteRangeError


def _fetch_ranges(
    context: dg.AssetExecutionContext,
    client: BlockSource,
    store: Storage,
    ranges: list[BlockRange],
    tables: tuple[RawTable, ...],
) -> tuple[dict[str, int], dict[str, pa.Table], dict[str, Counter[str]]]:
    """Extract and write each range's selected tables; their row totals (and figures) and the last range's tables."""
    selected = {k.to_user_string() for k in context.selected_asset_keys}
    totals = {t.name: 0 for t in tables if t.name in selected}
    figures: dict[str, Counter[str]] = {t.name: Counter() for t in tables if t.name in selected and t.figures}
    last: dict[str, pa.Table] = {}
    for r in ranges:
        t0 = time.perf_counter()
        try:
            last = extract_range(client, r.first, r.last, tables=tables)
        except _permanent() as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        store.write_all(r.key, {name: last[name] for name in totals})
        for name in totals:
            totals[name] += last[name].num_rows
        for t in tables:
            if t.name in figures and t.figures is not None:
                figures[t.name].update(t.figures(last[t.name]))
        rows = ", ".join(f"{last[name].num_rows} {name}" for name in totals)
        context.log.info(f"{r.key}: {rows} in {time.perf_counter() - t0:.2f}s")
    return totals, last, figures


def _with_traces(
    context: dg.AssetExecutionContext, client: "RpcClient", mode: str, first: int, tables: tuple[RawTable, ...]
) -> tuple[RawTable, ...]:
    """The tables to extract: trace tables only when selected and the node serves traces (client.trace_api set)."""
    selected = {k.to_user_string() for k in context.selected_asset_keys}
    trace_names = [t.name for t in tables if t.needs_traces]  # each maps from the ones before it
    keep = max((i + 1 for i, n in enumerate(trace_names) if n in selected), default=0)
    tables = tuple(t for t in tables if not t.needs_traces or t.name in trace_names[:keep])
    traced = {t.name for t in tables if t.needs_traces and t.name in selected}
    if not traced:
        return tables
    client.trace_api = client.probe_traces(mode, first)
    if client.trace_api is not None:
        return tables
    why = (
        "BLOCKANALYTIX_TRACES=off"
        if mode == "off"
        else f"the node at {client.safe_url} serves neither trace_block nor debug_traceBlockByNumber"
    )
    reason = (
        f"{', '.join(sorted(traced))} cannot be materialised: {why}. Point BLOCKANALYTIX_RPC_URL at a node with a "
        f"trace API (Erigon, Nethermind, Reth, anvil, or geth with the debug API) and set BLOCKANALYTIX_TRACES=auto."
    )
    if selected <= traced:
        raise dg.Failure(description=reason, allow_retries=False)
    context.log.warning(f"{reason} Skipped; the other tables are written.")
    return tuple(t for t in tables if not t.needs_traces)


def build_raw_ingest(tables: tuple[RawTable, ...] = RAW_TABLES) -> dg.AssetsDefinition:
    """The raw_ingest multi-asset: one asset per raw table, all written from one fetch of each range."""

    @dg.multi_asset(
        specs=[_spec(t) for t in tables],
        partitions_def=block_ranges,
        can_subset=True,
        pool="rpc",
        backfill_policy=RANGE_BATCHES,
        op_tags={"dagster-k8s/config": INGEST_K8S_CONFIG},
        retry_policy=dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL),
    )
    def raw_ingest(
        context: dg.AssetExecutionContext, rpc: RpcResource, storage: StorageResource, settings: PipelineSettings
    ) -> Iterator[dg.MaterializeResult]:
        """Fetch each block range once over batched JSON-RPC and write the raw tables atomically."""
        try:
            ranges = partition_ranges(context, settings.range_size)
            client = rpc.client()
            wanted = _with_traces(context, client, rpc.traces, ranges[0].first, tables)
        except _permanent() as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        store, started = storage.storage(), time.perf_counter()
        totals, last, figures = _fetch_ranges(context, client, store, ranges, wanted)
        seconds = time.perf_counter() - started
        span, n_blocks = (ranges[0].first, ranges[-1].last), sum(r.size for r in ranges)
        for t in (t for t in wanted if t.name in totals):
            path = store.path(t.name, ranges[-1].key)
            meta = table_metadata(last[t.name], preview=t.preview, path=path, span=span, rows=totals[t.name])
            meta["partitions"] = dg.MetadataValue.int(len(ranges))
            meta["seconds"] = dg.MetadataValue.float(round(seconds, 3))
            meta["blocks_per_second"] = dg.MetadataValue.float(round(n_blocks / max(seconds, 1e-9), 1))
            meta.update({k: dg.MetadataValue.int(v) for k, v in figures.get(t.name, {}).items()})
            if t.calls is not None and client.calls_at_latest:  # a pruned node: see RpcClient.eth_calls
                meta["eth_calls_at_latest_block"] = dg.MetadataValue.int(client.calls_at_latest)
            yield dg.MaterializeResult(asset_key=t.name, metadata=meta)

    return raw_ingest


raw_ingest = build_raw_ingest()
