"""Asset checks of cleaned_transactions: nulls, hash uniqueness, value bounds, and the quarantine count.

Each check fails when the cleaned table breaks the rule or when the range's raw input broke it (those rows are
in quarantined_transactions with the reason), so bad upstream data is visible even though it was filtered out.
"""

from collections import Counter
from functools import partial

import dagster as dg
import pyarrow as pa

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.range_checks import RangeInputs, Result, range_check
from blockanalytix_assets.transform import validation as v

# A check of cleaned_transactions that also reads the range's quarantine reasons.
cleaned_check = partial(range_check, tn.CLEANED_TRANSACTIONS, additional_deps=[tn.QUARANTINED_TRANSACTIONS])


def _cleaned(i: RangeInputs) -> tuple[pa.Table, Counter]:
    """The range's cleaned table and a count of its quarantine reasons."""
    cleaned, key = i.store.read(tn.CLEANED_TRANSACTIONS, i.range.key), i.range.key
    if not i.store.exists(tn.QUARANTINED_TRANSACTIONS, key):
        return cleaned, Counter()
    reasons = i.store.read(tn.QUARANTINED_TRANSACTIONS, key, columns=["reason"]).column("reason").to_pylist()
    return cleaned, v.reason_counts(reasons)


@cleaned_check("No nulls in required columns, and no raw row of the range was rejected for one.")
def cleaned_transactions_required_not_null(i: RangeInputs) -> Result:
    return v.required_not_null(*_cleaned(i))


@cleaned_check("Transaction hashes are unique, and the range's raw input had no duplicated hash.")
def cleaned_transactions_hash_unique(i: RangeInputs) -> Result:
    return v.hashes_unique(*_cleaned(i))


@cleaned_check("value >= 0, fee <= gas * gas price, block_number in the range; no raw row broke a bound.")
def cleaned_transactions_value_bounds(i: RangeInputs) -> Result:
    return v.value_bounds(*_cleaned(i), i.range.first, i.range.last)


@range_check(
    tn.QUARANTINED_TRANSACTIONS,
    "How many raw rows the range quarantined; warns when any.",
    severity=dg.AssetCheckSeverity.WARN,
)
def quarantined_transactions_empty(i: RangeInputs) -> Result:
    return v.quarantine_empty(i.store.read(tn.QUARANTINED_TRANSACTIONS, i.range.key, columns=["hash", "reason"]))
