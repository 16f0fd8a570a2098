"""cleaned_transactions and quarantined_transactions: one validated, enriched transaction table per range."""

import time
from collections.abc import Iterator

import dagster as dg

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.ingest.schema import read_token_transfers
from blockanalytix_assets.metadata import seconds_since, table_metadata
from blockanalytix_assets.partitions import block_ranges, partition_range
from blockanalytix_assets.resources import PipelineSettings, StorageResource
from blockanalytix_assets.transform.cleaning import TRANSFER_COLUMNS, clean_transactions

RAW_DEPS = [tn.RAW_TRANSACTIONS, tn.RAW_BLOCKS, tn.TOKEN_TRANSFERS]
PREVIEW = ["hash", "block_number", "from_address", "to_address", "value_eth", "fee_eth", "method_selector", "failed"]
QUARANTINE_PREVIEW = ["hash", "block_number", "reason"]


def _spec(name: str, description: str, kinds: set[str]) -> dg.AssetSpec:
    return dg.AssetSpec(
        name,
        deps=RAW_DEPS,
        description=description,
        group_name="transform",
        kinds=kinds,
        automation_condition=dg.AutomationCondition.eager(),
    )


@dg.multi_asset(
    specs=[
        _spec(
            tn.CLEANED_TRANSACTIONS,
            "Typed, deduplicated transactions of the range with fees, gas ratios, contract flags,"
            " method selector, failed flag and ERC-20 transfer counts (exact wei kept).",
            {"parquet", "pandas"},
        ),
        _spec(
            tn.QUARANTINED_TRANSACTIONS,
            "Raw transactions rejected while cleaning the range, each with its `reason`.",
            {"parquet"},
        ),
    ],
    partitions_def=block_ranges,
)
def cleaned_transactions(
    context: dg.AssetExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> Iterator[dg.MaterializeResult]:
    """Validate, deduplicate and enrich raw_transactions; write rejects to quarantine, never drop them."""
    store, r, t0 = storage.storage(), partition_range(context, settings.range_size), time.perf_counter()
    raw = store.read(tn.RAW_TRANSACTIONS, r.key)
    blocks = store.read(tn.RAW_BLOCKS, r.key, columns=["number", "base_fee_per_gas"])
    result = clean_transactions(raw, r.first, r.last, blocks, read_token_transfers(store, r.key, TRANSFER_COLUMNS))
    cleaned_path = store.write(tn.CLEANED_TRANSACTIONS, r.key, result.cleaned)
    quarantined_path = store.write(tn.QUARANTINED_TRANSACTIONS, r.key, result.quarantined)
    seconds = seconds_since(t0)
    if result.reason_counts:
        context.log.warning(f"{r.key}: quarantined {result.quarantined.num_rows} rows: {result.reason_counts}")
    span = (r.first, r.last)
    cleaned = table_metadata(result.cleaned, preview=PREVIEW, path=cleaned_path, span=span)
    cleaned |= {
        "seconds": seconds,
        "raw_rows": dg.MetadataValue.int(raw.num_rows),
        "quarantined_rows": dg.MetadataValue.int(result.quarantined.num_rows),
    }
    yield dg.MaterializeResult(asset_key=tn.CLEANED_TRANSACTIONS, metadata=cleaned)
    quarantined = table_metadata(result.quarantined, preview=QUARANTINE_PREVIEW, path=quarantined_path, span=span)
    quarantined |= {"seconds": seconds, "reasons": dg.MetadataValue.json(result.reason_counts)}
    yield dg.MaterializeResult(asset_key=tn.QUARANTINED_TRANSACTIONS, metadata=quarantined)
