"""Asset checks of cleaned_transactions: nulls, hash uniqueness, value bounds, and the quarantine count.

Each check fails when the cleaned table breaks the rule or when the range's raw input broke it (those rows are
in quarantined_transactions with the reason), so bad upstream data is visible even though it was filtered out.
"""

from collections import Counter

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.partitions import block_ranges, partition_range
from blockanalytix_assets.resources import PipelineSettings, StorageResource
from blockanalytix_assets.transform.cleaning import REQUIRED_COLUMNS

BOUND_REASONS = (
    "block_outside_range",
    "negative_",
    "gas_used_exceeds_gas",
    "bad_receipt_status",
    "malformed_",
)


def _inputs(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> tuple[pa.Table, Counter]:
    """The partition's cleaned table and a count of quarantine reasons (a row may carry several)."""
    store = storage.storage()
    key = partition_range(context, settings.range_size).key
    cleaned = store.read(tn.CLEANED_TRANSACTIONS, key)
    reasons: Counter = Counter()
    if store.exists(tn.QUARANTINED_TRANSACTIONS, key):
        for joined in store.read(tn.QUARANTINED_TRANSACTIONS, key, columns=["reason"]).column("reason").to_pylist():
            reasons.update((joined or "").split(";"))
    return cleaned, reasons


def _quarantined(reasons: Counter, *prefixes: str) -> dict[str, int]:
    return {k: v for k, v in reasons.items() if k.startswith(prefixes)}


@dg.asset_check(
    asset=tn.CLEANED_TRANSACTIONS,
    additional_deps=[tn.QUARANTINED_TRANSACTIONS],
    partitions_def=block_ranges,
    description="No nulls in required columns, and no raw row of the range was rejected for one.",
)
def cleaned_transactions_required_not_null(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> dg.AssetCheckResult:
    """Required columns are never null."""
    cleaned, reasons = _inputs(context, storage, settings)
    nulls = {c: cleaned.column(c).null_count for c in REQUIRED_COLUMNS if cleaned.column(c).null_count}
    rejected = _quarantined(reasons, "null_")
    return dg.AssetCheckResult(
        passed=not nulls and not rejected,
        metadata={"null_counts": nulls, "quarantined_for_nulls": rejected, "rows": cleaned.num_rows},
    )


@dg.asset_check(
    asset=tn.CLEANED_TRANSACTIONS,
    additional_deps=[tn.QUARANTINED_TRANSACTIONS],
    partitions_def=block_ranges,
    description="Transaction hashes are unique, and the range's raw input had no duplicated hash.",
)
def cleaned_transactions_hash_unique(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> dg.AssetCheckResult:
    """Hashes are unique."""
    cleaned, reasons = _inputs(context, storage, settings)
    duplicates = cleaned.num_rows - pc.count_distinct(cleaned.column("hash")).as_py()
    raw_duplicates = reasons.get("duplicate_hash", 0)
    return dg.AssetCheckResult(
        passed=duplicates == 0 and raw_duplicates == 0,
        metadata={"duplicate_hashes": duplicates, "raw_duplicate_rows_quarantined": raw_duplicates},
    )


@dg.asset_check(
    asset=tn.CLEANED_TRANSACTIONS,
    additional_deps=[tn.QUARANTINED_TRANSACTIONS],
    partitions_def=block_ranges,
    description="value >= 0, fee <= gas * gas price, block_number in the range; no raw row broke a bound.",
)
def cleaned_transactions_value_bounds(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> dg.AssetCheckResult:
    """Values, fees and block numbers are within bounds."""
    cleaned, reasons = _inputs(context, storage, settings)
    r = partition_range(context, settings.range_size)
    negative = pc.sum(pc.less(cleaned.column("value_eth"), 0)).as_py() or 0
    price = pc.coalesce(cleaned.column("receipt_effective_gas_price"), cleaned.column("gas_price"))
    cap = cleaned.column("gas").to_numpy().astype(float) * price.to_numpy(zero_copy_only=False).astype(float)
    fee = cleaned.column("fee_eth").to_numpy(zero_copy_only=False).astype(float) * 1e18
    over_fee = int(np.sum(fee > cap * (1 + 1e-9)))  # floats: allow rounding of the exact decimal product
    bn = cleaned.column("block_number")
    outside = pc.sum(pc.or_(pc.less(bn, r.first), pc.greater(bn, r.last))).as_py() or 0
    rejected = _quarantined(reasons, *BOUND_REASONS)
    return dg.AssetCheckResult(
        passed=negative == 0 and over_fee == 0 and outside == 0 and not rejected,
        metadata={
            "negative_values": negative,
            "fee_above_gas_times_price": over_fee,
            "blocks_outside_range": outside,
            "quarantined_for_bounds": rejected,
        },
    )


@dg.asset_check(
    asset=tn.QUARANTINED_TRANSACTIONS,
    partitions_def=block_ranges,
    description="How many raw rows the range quarantined; warns when any.",
)
def quarantined_transactions_empty(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> dg.AssetCheckResult:
    """No raw transaction of the range was quarantined."""
    store = storage.storage()
    table = store.read(
        tn.QUARANTINED_TRANSACTIONS,
        partition_range(context, settings.range_size).key,
        columns=["hash", "reason"],
    )
    reasons: Counter = Counter()
    for joined in table.column("reason").to_pylist():
        reasons.update((joined or "").split(";"))
    return dg.AssetCheckResult(
        passed=table.num_rows == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"quarantined_rows": table.num_rows, "reasons": dict(reasons)},
    )
