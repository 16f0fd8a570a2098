"""Per-transaction model features from cleaned_transactions, with sender/receiver activity over a lookback."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets.features.internal import INTERNAL_TX_FEATURE_COLUMNS, internal_transaction_features
from blockanalytix_assets.features.reduce import column_numpy
from blockanalytix_assets.ranges import previous_key
from blockanalytix_assets.transform.encoding import encode, unique_pairs

FEATURE_SPEC_VERSION = "3"  # 2: the internal_* columns after FEATURE_COLUMNS; 3: delegation_* (EIP-7702)
SPEC_METADATA_KEY = b"blockanalytix.feature_spec_version"
KEY_COLUMNS = ["hash", "block_number", "block_timestamp", "from_address", "to_address"]
# Fixed order; changing names, order or meaning requires bumping FEATURE_SPEC_VERSION.
# "range" = the partition's own transactions; "lookback" = the earlier ranges only (current range excluded).
FEATURE_COLUMNS = [
    "log_value_gwei",  # log1p(value in gwei)
    "log_fee_gwei",  # log1p(fee paid in gwei)
    "gas_price_to_base_fee",  # effective gas price / block base fee; 0 when the base fee is unknown
    "gas_price_to_block_median",  # effective gas price / the block's median; 0 when unknown
    "gas_used_ratio",  # receipt_gas_used / gas limit
    "log_gas_used",  # log1p(receipt_gas_used)
    "hour_of_day",  # UTC hour 0..23 of block_timestamp
    "hour_sin",  # sin(2*pi*hour/24)
    "hour_cos",  # cos(2*pi*hour/24)
    "log_input_bytes",  # log1p(bytes of calldata)
    "log_nonce",  # log1p(sender nonce)
    "transaction_type",  # 0 legacy, 1 access list, 2 EIP-1559, 3 blob
    "is_contract_creation",  # 0/1
    "is_contract_call",  # 0/1
    "failed",  # 0/1 (receipt status 0)
    "log_token_transfer_count",  # log1p(ERC-20 transfers emitted)
    "log_sender_txs_range",  # log1p(txs sent by the sender in the range)
    "log_sender_unique_receivers_range",  # log1p(distinct receivers of the sender in the range)
    "log_receiver_txs_range",  # log1p(txs received by the receiver in the range); 0 for creations
    "log_receiver_unique_senders_range",  # log1p(distinct senders to the receiver in the range)
    "log_sender_txs_lookback",  # as above over the lookback ranges
    "log_sender_unique_receivers_lookback",
    "log_receiver_txs_lookback",
    "log_receiver_unique_senders_lookback",
    "log_minutes_since_sender_prev_tx",  # log1p(minutes since the sender's previous tx in the window), or 0
    "sender_is_new",  # 1 when the sender has no earlier tx in the window (lookback + range)
    "receiver_is_new",  # 1 when the receiver was never seen (as sender or receiver) earlier in the window
    "delegation_count",  # EIP-7702 authorizations the tx carries (0 for other types)
    "delegation_sponsored_count",  # of those, signed by a recovered authority other than the sender
]
ACTIVITY_COLUMNS = [
    "hash",
    "block_number",
    "transaction_index",
    "block_timestamp",
    "from_address",
    "to_address",
]


def _num(t: pa.Table, name: str) -> np.ndarray:
    """A column as float64 with NaN for nulls."""
    col = pc.cast(t.column(name), pa.float64())
    return pc.fill_null(col, np.nan).to_numpy(zero_copy_only=False) if len(col) else np.zeros(0)


def _activity(frm: np.ndarray, to: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """Per address code: txs sent, distinct receivers, txs received, distinct senders."""
    sent = np.bincount(frm, minlength=n)
    has_to = to >= 0
    received = np.bincount(to[has_to], minlength=n)
    pairs = unique_pairs(frm, to, n)
    uniq_recv = np.bincount(pairs // n, minlength=n)
    uniq_send = np.bincount(pairs % n, minlength=n)
    return sent, uniq_recv, received, uniq_send


def _pick(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """values[codes], 0 where the code is -1 (no receiver)."""
    return np.where(codes >= 0, values[np.maximum(codes, 0)], 0)


def _delegations(current: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Authorizations per tx and those a known authority other than the sender signed (0 in older cleaned files)."""
    n = current.num_rows
    if "authorization_list" not in current.column_names or not n:
        return np.zeros(n), np.zeros(n)
    lists = current.column("authorization_list").combine_chunks()
    count = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
    parents = pc.list_parent_indices(lists)
    authority = pc.struct_field(pc.list_flatten(lists), "authority")
    sender = pc.take(current.column("from_address"), parents)
    other = pc.fill_null(pc.not_equal(authority, sender), False).to_numpy(zero_copy_only=False)
    return count, np.bincount(parents.to_numpy()[other], minlength=n)


def transaction_features(
    current: pa.Table, lookback: list[pa.Table] | None = None, internal_transfers: pa.Table | None = None
) -> pa.Table:
    """A range's transaction features (lookback: earlier ranges' rows; internal_transfers None: no traces)."""
    earlier = [t.select(ACTIVITY_COLUMNS) for t in (lookback or []) if t.num_rows]
    n_cur = current.num_rows
    window = pa.concat_tables([*earlier, current.select(ACTIVITY_COLUMNS)], promote_options="default")
    is_cur = np.zeros(window.num_rows, dtype=bool)
    is_cur[window.num_rows - n_cur :] = True
    order = np.lexsort((column_numpy(window, "transaction_index"), column_numpy(window, "block_number")))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    (frm, to), uniques = encode(window.column("from_address"), window.column("to_address"))
    n = max(len(uniques), 1)
    ts = column_numpy(window, "block_timestamp").astype(np.float64)

    cur_from, cur_to = frm[is_cur], to[is_cur]
    rng = _activity(cur_from, cur_to, n)
    lb = _activity(frm[~is_cur], to[~is_cur], n)

    # Previous tx of the same sender: neighbours after sorting by (sender, chain order).
    by_sender = np.lexsort((rank, frm))
    same = np.zeros(len(by_sender), dtype=bool)
    same[1:] = frm[by_sender][1:] == frm[by_sender][:-1]
    prev_gap = np.full(len(by_sender), np.nan)
    prev_gap[1:] = (ts[by_sender][1:] - ts[by_sender][:-1]) / 60.0
    gap = np.full(window.num_rows, np.nan)
    gap[by_sender] = np.where(same, prev_gap, np.nan)

    # First appearance (as sender or receiver) of each address, in chain order.
    seq = np.empty(2 * window.num_rows, dtype=np.int64)
    seq[0::2], seq[1::2] = frm[order], to[order]
    valid = seq >= 0
    first_pos = np.full(n, np.iinfo(np.int64).max)
    u, idx = np.unique(seq[valid], return_index=True)
    first_pos[u] = np.flatnonzero(valid)[idx] // 2
    cur_rank = rank[is_cur]
    receiver_new = np.where(cur_to >= 0, _pick(first_pos, cur_to) >= cur_rank, True)

    hour = (column_numpy(current, "block_timestamp") // 3600) % 24
    chars = pc.fill_null(pc.binary_length(current.column("input")), 2).to_numpy(zero_copy_only=False)
    input_bytes = np.maximum(chars - 2, 0) // 2
    gas = _num(current, "gas")
    cur_gap = gap[is_cur]
    delegations, sponsored = _delegations(current)
    feats = {
        "log_value_gwei": np.log1p(np.maximum(_num(current, "value_eth") * 1e9, 0)),
        "log_fee_gwei": np.log1p(np.maximum(_num(current, "fee_eth") * 1e9, 0)),
        "gas_price_to_base_fee": np.nan_to_num(_num(current, "gas_price_to_base_fee")),
        "gas_price_to_block_median": np.nan_to_num(_num(current, "gas_price_to_block_median")),
        "gas_used_ratio": np.nan_to_num(_num(current, "receipt_gas_used") / np.where(gas > 0, gas, np.nan)),
        "log_gas_used": np.log1p(np.nan_to_num(_num(current, "receipt_gas_used"))),
        "hour_of_day": hour,
        "hour_sin": np.sin(2 * np.pi * hour / 24),
        "hour_cos": np.cos(2 * np.pi * hour / 24),
        "log_input_bytes": np.log1p(input_bytes),
        "log_nonce": np.log1p(np.nan_to_num(_num(current, "nonce"))),
        "transaction_type": np.nan_to_num(_num(current, "transaction_type")),
        "is_contract_creation": _num(current, "is_contract_creation"),
        "is_contract_call": _num(current, "is_contract_call"),
        "failed": _num(current, "failed"),
        "log_token_transfer_count": np.log1p(_num(current, "token_transfer_count")),
        "log_sender_txs_range": np.log1p(rng[0][cur_from]),
        "log_sender_unique_receivers_range": np.log1p(rng[1][cur_from]),
        "log_receiver_txs_range": np.log1p(_pick(rng[2], cur_to)),
        "log_receiver_unique_senders_range": np.log1p(_pick(rng[3], cur_to)),
        "log_sender_txs_lookback": np.log1p(lb[0][cur_from]),
        "log_sender_unique_receivers_lookback": np.log1p(lb[1][cur_from]),
        "log_receiver_txs_lookback": np.log1p(_pick(lb[2], cur_to)),
        "log_receiver_unique_senders_lookback": np.log1p(_pick(lb[3], cur_to)),
        "log_minutes_since_sender_prev_tx": np.log1p(np.nan_to_num(cur_gap)),
        "sender_is_new": np.isnan(cur_gap),
        "receiver_is_new": receiver_new,
        "delegation_count": delegations,
        "delegation_sponsored_count": sponsored,
    }
    arrays = [current.column(c) for c in KEY_COLUMNS]
    arrays += [pa.array(np.asarray(feats[c], dtype=np.float32)) for c in FEATURE_COLUMNS]
    arrays += internal_transaction_features(current.column("hash"), internal_transfers)
    floats = FEATURE_COLUMNS + INTERNAL_TX_FEATURE_COLUMNS
    schema = pa.schema(
        [current.schema.field(c) for c in KEY_COLUMNS] + [pa.field(c, pa.float32()) for c in floats],
        metadata={SPEC_METADATA_KEY: FEATURE_SPEC_VERSION.encode()},
    )
    return pa.Table.from_arrays(arrays, schema=schema)


def lookback_keys(key: str, lookback_ranges: int, existing: list[str] | set[str]) -> list[str]:
    """Up to lookback_ranges keys just before key that exist in storage, oldest first."""
    have, out, k = set(existing), [], key
    for _ in range(max(lookback_ranges, 0)):
        before = previous_key(k)
        if before is None:
            break
        k = before
        if k in have:
            out.append(k)
    return out[::-1]
