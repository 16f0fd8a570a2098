"""cleaned_transactions and quarantined_transactions: one validated, enriched transaction table per range."""

import time

import dagster as dg

from blockanalytix_assets.partitions import block_ranges, partition_range
from blockanalytix_assets.preview import markdown_preview
from blockanalytix_assets.resources import PipelineSettings, StorageResource
from blockanalytix_assets.transform.cleaning import TRANSFER_COLUMNS, clean_transactions

RAW_DEPS = ["raw_transactions", "raw_blocks", "token_transfers"]
PREVIEW = [
    "hash",
    "block_number",
    "from_address",
    "to_address",
    "value_eth",
    "fee_eth",
    "method_selector",
    "failed",
]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "cleaned_transactions",
            deps=RAW_DEPS,
            description="Typed, deduplicated transactions of the range with fees, gas ratios, contract flags,"
            " method selector, failed flag and ERC-20 transfer counts (exact wei kept).",
            group_name="transform",
            kinds={"parquet", "pandas"},
            automation_condition=dg.AutomationCondition.eager(),
        ),
        dg.AssetSpec(
            "quarantined_transactions",
            deps=RAW_DEPS,
            description="Raw transactions rejected while cleaning the range, each with its `reason`.",
            group_name="transform",
            kinds={"parquet"},
            automation_condition=dg.AutomationCondition.eager(),
        ),
    ],
    partitions_def=block_ranges,
)
def cleaned_transactions(context: dg.AssetExecutionContext, storage: StorageResource, settings: PipelineSettings):
    """Validate, deduplicate and enrich raw_transactions; write rejects to quarantine, never drop them."""
    store = storage.storage()
    r = partition_range(context, settings.range_size)
    t0 = time.perf_counter()
    raw = store.read("raw_transactions", r.key)
    blocks = store.read("raw_blocks", r.key, columns=["number", "base_fee_per_gas"])
    transfers = (
        store.read("token_transfers", r.key, columns=TRANSFER_COLUMNS, optional=("token_standard",))
        if store.exists("token_transfers", r.key)
        else None
    )
    result = clean_transactions(raw, r.first, r.last, blocks, transfers)
    store.write("cleaned_transactions", r.key, result.cleaned)
    store.write("quarantined_transactions", r.key, result.quarantined)
    seconds = round(time.perf_counter() - t0, 3)
    if result.reason_counts:
        context.log.warning(f"{r.key}: quarantined {result.quarantined.num_rows} rows: {result.reason_counts}")
    common = {
        "first_block": dg.MetadataValue.int(r.first),
        "last_block": dg.MetadataValue.int(r.last),
        "seconds": dg.MetadataValue.float(seconds),
    }
    yield dg.MaterializeResult(
        asset_key="cleaned_transactions",
        metadata={
            **common,
            "rows": dg.MetadataValue.int(result.cleaned.num_rows),
            "raw_rows": dg.MetadataValue.int(raw.num_rows),
            "quarantined_rows": dg.MetadataValue.int(result.quarantined.num_rows),
            "path": dg.MetadataValue.path(store.path("cleaned_transactions", r.key)),
            "preview": dg.MetadataValue.md(markdown_preview(result.cleaned, PREVIEW)),
        },
    )
    yield dg.MaterializeResult(
        asset_key="quarantined_transactions",
        metadata={
            **common,
            "rows": dg.MetadataValue.int(result.quarantined.num_rows),
            "reasons": dg.MetadataValue.json(result.reason_counts),
            "path": dg.MetadataValue.path(store.path("quarantined_transactions", r.key)),
            "preview": dg.MetadataValue.md(markdown_preview(result.quarantined, ["hash", "block_number", "reason"])),
        },
    )
