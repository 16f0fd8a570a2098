"""Pure checks on one range's cleaned_transactions and the quarantine reasons of its raw rows; each returns
(passed, details)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets.transform.cleaning import REQUIRED_COLUMNS

Result = tuple[bool, dict]
BOUND_REASONS = (
    "block_outside_range",
    "negative_",
    "gas_used_exceeds_gas",
    "bad_receipt_status",
    "malformed_",
)


def reason_counts(joined: Iterable[str | None]) -> Counter:
    """A count of quarantine reasons from the `reason` column (';'-joined: a row may carry several)."""
    reasons: Counter = Counter()
    for reason in joined:
        reasons.update((reason or "").split(";"))
    return reasons


def _quarantined(reasons: Counter, *prefixes: str) -> dict[str, int]:
    return {k: v for k, v in reasons.items() if k.startswith(prefixes)}


def required_not_null(cleaned: pa.Table, reasons: Counter) -> Result:
    """Required columns are never null, and no raw row was rejected for a null."""
    nulls = {c: cleaned.column(c).null_count for c in REQUIRED_COLUMNS if cleaned.column(c).null_count}
    rejected = _quarantined(reasons, "null_")
    return not nulls and not rejected, {
        "null_counts": nulls,
        "quarantined_for_nulls": rejected,
        "rows": cleaned.num_rows,
    }


def hashes_unique(cleaned: pa.Table, reasons: Counter) -> Result:
    """Hashes are unique, and no raw row was rejected as a duplicated hash."""
    duplicates = cleaned.num_rows - pc.count_distinct(cleaned.column("hash")).as_py()
    raw_duplicates = reasons.get("duplicate_hash", 0)
    return duplicates == 0 and raw_duplicates == 0, {
        "duplicate_hashes": duplicates,
        "raw_duplicate_rows_quarantined": raw_duplicates,
    }


def value_bounds(cleaned: pa.Table, reasons: Counter, first: int, last: int) -> Result:
    """value >= 0, fee <= gas * gas price, block_number in first..last; no raw row broke a bound."""
    negative = pc.sum(pc.less(cleaned.column("value_eth"), 0)).as_py() or 0
    price = pc.coalesce(cleaned.column("receipt_effective_gas_price"), cleaned.column("gas_price"))
    cap = cleaned.column("gas").to_numpy().astype(float) * price.to_numpy(zero_copy_only=False).astype(float)
    fee = cleaned.column("fee_eth").to_numpy(zero_copy_only=False).astype(float) * 1e18
    over_fee = int(np.sum(fee > cap * (1 + 1e-9)))  # floats: allow rounding of the exact decimal product
    bn = cleaned.column("block_number")
    outside = pc.sum(pc.or_(pc.less(bn, first), pc.greater(bn, last))).as_py() or 0
    rejected = _quarantined(reasons, *BOUND_REASONS)
    return negative == 0 and over_fee == 0 and outside == 0 and not rejected, {
        "negative_values": negative,
        "fee_above_gas_times_price": over_fee,
        "blocks_outside_range": outside,
        "quarantined_for_bounds": rejected,
    }


def quarantine_empty(quarantined: pa.Table) -> Result:
    """No raw row was quarantined; the details count them by reason."""
    reasons = reason_counts(quarantined.column("reason").to_pylist())
    return quarantined.num_rows == 0, {"quarantined_rows": quarantined.num_rows, "reasons": dict(reasons)}
