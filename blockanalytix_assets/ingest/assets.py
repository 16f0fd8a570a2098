"""Raw per-range assets: one RPC fetch writes raw_blocks, raw_transactions, raw_logs and token_transfers."""

import time

import dagster as dg

from blockanalytix_assets.k8s_config import INGEST_K8S_CONFIG
from blockanalytix_assets.partitions import block_ranges, partition_ranges
from blockanalytix_assets.preview import markdown_preview
from blockanalytix_assets.resources import PipelineSettings, RpcResource, StorageResource

RAW_ASSETS = ("raw_blocks", "raw_transactions", "raw_logs", "token_transfers")
PREVIEW_COLUMNS = {
    "raw_blocks": ["number", "hash", "timestamp", "transaction_count", "gas_used", "base_fee_per_gas"],
    "raw_transactions": ["hash", "block_number", "from_address", "to_address", "value", "receipt_status"],
    "raw_logs": ["block_number", "log_index", "transaction_hash", "address", "topics"],
    "token_transfers": ["block_number", "token_address", "from_address", "to_address", "value", "token_standard"],
}
DESCRIPTIONS = {
    "raw_blocks": "Blocks of the range (crypto_ethereum.blocks columns), withdrawals and blob gas included.",
    "raw_transactions": "Transactions with their receipt_* fields (crypto_ethereum.transactions columns).",
    "raw_logs": "Event logs of the range's receipts (crypto_ethereum.logs columns).",
    "token_transfers": "ERC-20 and ERC-721 Transfer events (token_standard); uint256 values exact as strings.",
}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(name, description=DESCRIPTIONS[name], group_name="ingest", kinds={"parquet", "ethereum"})
        for name in RAW_ASSETS
    ],
    partitions_def=block_ranges,
    can_subset=True,
    pool="rpc",
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=10),
    op_tags={"dagster-k8s/config": INGEST_K8S_CONFIG},
    retry_policy=dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL),
)
def raw_ingest(
    context: dg.AssetExecutionContext, rpc: RpcResource, storage: StorageResource, settings: PipelineSettings
):
    """Fetch each block range once over batched JSON-RPC and write the four raw tables atomically."""
    from blockanalytix_assets.ingest.extract import IncompleteRangeError, extract_range
    from blockanalytix_assets.ingest.mapping import MalformedResponseError
    from blockanalytix_assets.ingest.rpc import BlockNotFoundError, ChainIdMismatch
    from blockanalytix_assets.ranges import PartitionKeyError

    # Errors no retry can fix (bad key, wrong chain, beyond head, broken node output) fail at once.
    permanent = (PartitionKeyError, ChainIdMismatch, BlockNotFoundError, MalformedResponseError, IncompleteRangeError)
    try:
        ranges = partition_ranges(context, settings.range_size)
        client = rpc.client()
    except permanent as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    store = storage.storage()
    selected = {k.to_user_string() for k in context.selected_asset_keys}
    totals = {name: 0 for name in RAW_ASSETS}
    last_tables: dict = {}
    started = time.perf_counter()
    for r in ranges:
        t0 = time.perf_counter()
        try:
            tables = extract_range(client, r.first, r.last)
        except permanent as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        store.write_all(r.key, {name: tables[name] for name in RAW_ASSETS if name in selected})
        for name in RAW_ASSETS:
            if name in selected:
                totals[name] += tables[name].num_rows
        context.log.info(f"{r.key}: {tables['raw_transactions'].num_rows} txs in {time.perf_counter() - t0:.2f}s")
        last_tables = tables
    seconds = time.perf_counter() - started
    n_blocks = sum(r.size for r in ranges)
    for name in RAW_ASSETS:
        if name not in selected:
            continue
        yield dg.MaterializeResult(
            asset_key=name,
            metadata={
                "rows": dg.MetadataValue.int(totals[name]),
                "first_block": dg.MetadataValue.int(ranges[0].first),
                "last_block": dg.MetadataValue.int(ranges[-1].last),
                "partitions": dg.MetadataValue.int(len(ranges)),
                "seconds": dg.MetadataValue.float(round(seconds, 3)),
                "blocks_per_second": dg.MetadataValue.float(round(n_blocks / max(seconds, 1e-9), 1)),
                "path": dg.MetadataValue.path(store.path(name, ranges[-1].key)),
                "preview": dg.MetadataValue.md(markdown_preview(last_tables[name], PREVIEW_COLUMNS[name])),
            },
        )
