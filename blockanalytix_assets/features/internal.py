"""Features of internal transfers (ingest/internal_mapping.py): every column starts with `internal_`.

A range without internal_transfers (its node served no traces) is unknown, not empty: its internal_* values are
null, never 0. address_activity keeps mergeable state (exact wei and counts summed with the `known_sum` rule: null
when any merged part is null, so a lifetime value is known only when every range the address was seen in had
traces; a counterparty KMV sketch); profiles, the window oracle (features/address.py) and transaction_features
turn it into the columns below. A self-transfer counts as sent and received, as the tx columns do.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets.features.reduce import Grouping, combined, wei_array, wei_parts
from blockanalytix_assets.features.sketch import SKETCH_TYPE, kmv_estimate, kmv_from_pairs
from blockanalytix_assets.ingest.schema import INTERNAL_TRANSFERS, WEI
from blockanalytix_assets.transform.encoding import unique_pairs

INTERNAL_COLUMNS = ["transaction_hash", "block_number", "block_timestamp", "from_address", "to_address", "value"]
# address_activity state: (name, type, merge rule)
INTERNAL_ACTIVITY_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("internal_sent_wei", WEI, "known_sum"),
    ("internal_received_wei", WEI, "known_sum"),
    ("internal_sent_count", pa.int64(), "known_sum"),
    ("internal_received_count", pa.int64(), "known_sum"),
    ("internal_counterparties", SKETCH_TYPE, "kmv"),
]
# address_features / profile columns (float64, null where unknown), after the Kaggle ones; address model inputs
INTERNAL_ADDRESS_FEATURE_COLUMNS = [
    "internal_ether_sent", "internal_ether_received", "internal_sent_count", "internal_received_count",
    "internal_counterparties",
]  # fmt: skip
# transaction_features columns (float32, null where unknown), after FEATURE_COLUMNS; not model inputs
INTERNAL_TX_FEATURE_COLUMNS = ["internal_transfer_count", "internal_value_eth"]
WEI_PER_ETH = 1e18


def internal_rows(internal_transfers: pa.Table | None) -> pa.Table:
    """The INTERNAL_COLUMNS of rows with both addresses (no rows when None: a range without traces)."""
    if internal_transfers is None:
        return INTERNAL_TRANSFERS.empty_table().select(INTERNAL_COLUMNS)
    t = internal_transfers.select(INTERNAL_COLUMNS)
    return t.filter(pc.and_(pc.is_valid(t.column("from_address")), pc.is_valid(t.column("to_address"))))


def internal_activity(
    i_from: np.ndarray, i_to: np.ndarray, value: pa.Array, hashes: np.ndarray, n: int, known: bool
) -> dict[str, pa.Array]:
    """The INTERNAL_ACTIVITY_COLUMNS of address codes 0..n-1 (hashes: each code's hash64); null sums if unknown."""
    low, high, _ = wei_parts(value)
    cols: dict[str, pa.Array] = {}
    for side, codes in (("sent", i_from), ("received", i_to)):
        g = Grouping(codes, n)
        cols[f"internal_{side}_wei"] = wei_array(*g.wei_sum(low, high), np.full(n, known))
        cols[f"internal_{side}_count"] = pa.array(g.count(), mask=np.full(n, not known))
    a, b = np.concatenate([i_from, i_to]), np.concatenate([i_to, i_from])
    cols["internal_counterparties"] = kmv_from_pairs(a, hashes[b], n)
    return cols


def _eth(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    return pc.divide(pc.cast(col, pa.float64()), WEI_PER_ETH)


def internal_profile_features(t: pa.Table) -> dict[str, pa.Array]:
    """INTERNAL_ADDRESS_FEATURE_COLUMNS from merged activity rows (null where the sums are unknown)."""
    sent, received = t.column("internal_sent_count"), t.column("internal_received_count")
    unknown = pc.or_kleene(pc.is_null(sent), pc.is_null(received)).to_numpy(zero_copy_only=False)
    distinct = kmv_estimate(t.column("internal_counterparties"))
    return {
        "internal_ether_sent": _eth(t.column("internal_sent_wei")),
        "internal_ether_received": _eth(t.column("internal_received_wei")),
        "internal_sent_count": pc.cast(sent, pa.float64()),
        "internal_received_count": pc.cast(received, pa.float64()),
        "internal_counterparties": pa.array(distinct, pa.float64(), mask=unknown),
    }


def internal_window_features(
    i_from: np.ndarray, i_to: np.ndarray, value_eth: np.ndarray, n: int, known: bool
) -> dict[str, pa.Array]:
    """INTERNAL_ADDRESS_FEATURE_COLUMNS over a window's internal transfers (the oracle of the profile columns)."""
    mask = np.full(n, not known)
    out = {
        "internal_ether_sent": np.bincount(i_from, weights=value_eth, minlength=n),
        "internal_ether_received": np.bincount(i_to, weights=value_eth, minlength=n),
        "internal_sent_count": np.bincount(i_from, minlength=n),
        "internal_received_count": np.bincount(i_to, minlength=n),
    }
    pairs = unique_pairs(np.concatenate([i_from, i_to]), np.concatenate([i_to, i_from]), n)
    out["internal_counterparties"] = np.bincount(pairs // n, minlength=n)
    return {k: pa.array(v.astype(np.float64), mask=mask) for k, v in out.items()}


def internal_transaction_features(hashes: pa.ChunkedArray | pa.Array, internal: pa.Table | None) -> list[pa.Array]:
    """internal_transfer_count and internal_value_eth (float32) of each transaction hash; null where unknown."""
    n = len(hashes)
    if internal is None:
        return [pa.nulls(n, pa.float32()) for _ in INTERNAL_TX_FEATURE_COLUMNS]
    at = pc.index_in(internal.column("transaction_hash"), value_set=combined(hashes))
    matched = pc.is_valid(at)
    rows = pc.drop_null(at).to_numpy(zero_copy_only=False).astype(np.int64)
    value = pc.fill_null(_eth(pc.filter(internal.column("value"), matched)), 0.0).to_numpy(zero_copy_only=False)
    count = np.bincount(rows, minlength=n).astype(np.float32)
    total = np.bincount(rows, weights=value, minlength=n).astype(np.float32)
    return [pa.array(count), pa.array(total)]
