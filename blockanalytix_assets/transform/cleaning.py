"""Raw transactions -> cleaned_transactions (typed, enriched, deduplicated) and quarantined_transactions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets.ingest.schema import TRANSACTIONS, WEI, erc20_transfers
from blockanalytix_assets.transform.encoding import encode

WEI_PER_ETH = 1e18
# Gas used above this is impossible (block gas limits are ~1e7-1e8) and would overflow the exact fee product.
MAX_GAS_USED = 10**12
TRANSFER_COLUMNS = ["transaction_hash", "token_standard"]  # what token_transfer_count reads of token_transfers
ADDRESS_RE = r"^0x[0-9a-f]{40}$"
ADDRESS_COLUMNS = ("from_address", "to_address", "receipt_contract_address")
REQUIRED_COLUMNS = (
    "hash", "block_number", "block_timestamp", "transaction_index", "from_address", "value", "gas",
    "receipt_gas_used",
)  # fmt: skip

DERIVED_FIELDS = [
    ("value_eth", pa.float64()),
    ("fee_wei", WEI),
    ("fee_eth", pa.float64()),
    ("base_fee_per_gas", pa.int64()),
    ("gas_price_to_base_fee", pa.float64()),
    ("gas_price_to_block_median", pa.float64()),
    ("is_contract_creation", pa.bool_()),
    ("is_contract_call", pa.bool_()),
    ("method_selector", pa.string()),
    ("failed", pa.bool_()),
    ("token_transfer_count", pa.int64()),
    ("is_delegation", pa.bool_()),  # a type-4 (EIP-7702) transaction carrying at least one authorization
    ("delegation_count", pa.int64()),  # its authorizations (0 for every other transaction)
]
CLEANED_SCHEMA = pa.schema(list(TRANSACTIONS) + [pa.field(n, t) for n, t in DERIVED_FIELDS])
QUARANTINE_SCHEMA = pa.schema(list(TRANSACTIONS) + [pa.field("reason", pa.string())])


@dataclass(frozen=True)
class CleanResult:
    """The cleaned table, the rejected rows with their reasons, and reason counts."""

    cleaned: pa.Table
    quarantined: pa.Table
    reason_counts: dict[str, int]


def _conform(raw: pa.Table) -> pa.Table:
    """Raw columns in schema order and types; addresses lower-cased."""
    cols = []
    for f in TRANSACTIONS:
        col = raw.column(f.name) if f.name in raw.column_names else pa.nulls(raw.num_rows, f.type)
        col = col.cast(f.type)
        if f.name in ADDRESS_COLUMNS:
            col = pc.utf8_lower(col)
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=TRANSACTIONS)


def _bool(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return pc.fill_null(arr, False).to_numpy(zero_copy_only=False).astype(bool)


def _delegation_reasons(t: pa.Table, has_lists: bool) -> list[tuple[str, np.ndarray]]:
    """EIP-7702: a type-4 tx needs authorizations, other types carry none (unchecked for raw files older than them)."""
    if not has_lists:
        return []
    n = pc.fill_null(pc.list_value_length(t.column("authorization_list")), 0)
    type4 = pc.equal(t.column("transaction_type"), 4)
    return [
        ("type4_without_authorizations", _bool(pc.and_(type4, pc.equal(n, 0)))),
        ("authorizations_on_other_type", _bool(pc.and_(pc.invert(pc.fill_null(type4, False)), pc.greater(n, 0)))),
    ]


def _reasons(t: pa.Table, first_block: int, last_block: int) -> list[tuple[str, np.ndarray]]:
    """Named boolean masks of rows to reject (before deduplication)."""
    out = [(f"null_{c}", _bool(pc.is_null(t.column(c)))) for c in REQUIRED_COLUMNS]
    bn = t.column("block_number")
    out.append(("block_outside_range", _bool(pc.or_(pc.less(bn, first_block), pc.greater(bn, last_block)))))
    out.append(("negative_value", _bool(pc.less(t.column("value"), pa.scalar(0).cast(WEI)))))
    for c in ("gas", "gas_price", "nonce", "receipt_gas_used", "receipt_effective_gas_price"):
        out.append((f"negative_{c}", _bool(pc.less(t.column(c), 0))))
    used, gas = t.column("receipt_gas_used"), t.column("gas")
    out.append(("gas_used_exceeds_gas", _bool(pc.or_(pc.greater(used, gas), pc.greater(used, MAX_GAS_USED)))))
    status = t.column("receipt_status")
    out.append(("bad_receipt_status", _bool(pc.and_(pc.not_equal(status, 0), pc.not_equal(status, 1)))))
    for c in ADDRESS_COLUMNS:
        col = t.column(c)
        bad = pc.and_(pc.is_valid(col), pc.invert(pc.match_substring_regex(col, ADDRESS_RE)))
        out.append((f"malformed_{c}", _bool(bad)))
    return out


def _duplicates(hashes: pa.ChunkedArray, keep: np.ndarray) -> np.ndarray:
    """Rows whose hash already appeared in an earlier kept row."""
    if len(pc.unique(hashes)) == len(hashes):  # the usual case, and cheaper than encoding
        return np.zeros(len(hashes), dtype=bool)
    (codes,), _ = encode(hashes)
    dup = np.zeros(len(codes), dtype=bool)
    idx = np.flatnonzero(keep & (codes >= 0))
    dup[idx] = pd.Series(codes[idx]).duplicated(keep="first").to_numpy()
    return dup


def _exact_fee(gas_used: pa.ChunkedArray, price: pa.ChunkedArray) -> pa.ChunkedArray:
    """receipt_gas_used * effective gas price, exact, as decimal128(38,0)."""
    used = gas_used.cast(pa.decimal128(19, 0)).cast(pa.decimal128(13, 0))
    return pc.multiply(used, price.cast(pa.decimal128(19, 0))).cast(WEI)


def _token_counts(hashes: pa.ChunkedArray, token_transfers: pa.Table | None) -> np.ndarray:
    """ERC-20 transfers emitted by each transaction (ERC-721 transfers are not counted)."""
    if token_transfers is not None:
        token_transfers = erc20_transfers(token_transfers)
    if token_transfers is None or token_transfers.num_rows == 0:
        return np.zeros(len(hashes), dtype=np.int64)
    counts = pc.value_counts(token_transfers.column("transaction_hash"))
    pos = pc.index_in(hashes, value_set=counts.field("values"))
    return pc.fill_null(pc.take(counts.field("counts"), pos), 0).to_numpy(zero_copy_only=False)


def _base_fees(block_numbers: np.ndarray, blocks: pa.Table | None) -> pa.Array:
    """Each row's block base fee (null where the block is unknown or pre-London)."""
    if blocks is None or blocks.num_rows == 0:
        return pa.nulls(len(block_numbers), pa.int64())
    numbers, first_row = np.unique(blocks.column("number").to_numpy(), return_index=True)
    pos = np.minimum(np.searchsorted(numbers, block_numbers), len(numbers) - 1)
    found = numbers[pos] == block_numbers
    idx = pa.array(first_row[pos], mask=~found, type=pa.int64())
    return pc.take(blocks.column("base_fee_per_gas").cast(pa.int64()), idx).combine_chunks()


def _derive(t: pa.Table, blocks: pa.Table | None, token_transfers: pa.Table | None) -> pa.Table:
    """The contract's derived columns for already-validated, deduplicated rows."""
    price = pc.coalesce(t.column("receipt_effective_gas_price"), t.column("gas_price"))
    fee_wei = _exact_fee(t.column("receipt_gas_used"), price)
    price_f = price.cast(pa.float64()).to_numpy(zero_copy_only=False)
    block_numbers = t.column("block_number").to_numpy()
    base_fee = _base_fees(block_numbers, blocks)
    base_f = base_fee.cast(pa.float64()).to_numpy(zero_copy_only=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        to_base = np.where(base_f > 0, price_f / base_f, np.nan)
        median = pd.Series(price_f).groupby(block_numbers).transform("median").to_numpy()
        to_median = np.where(median > 0, price_f / median, np.nan)
    inp = t.column("input")
    has_input = pc.fill_null(pc.greater(pc.utf8_length(inp), 2), False)
    to_null = pc.is_null(t.column("to_address"))
    selector = pc.if_else(pc.greater_equal(pc.utf8_length(inp), 10), pc.utf8_slice_codeunits(inp, 0, 10), None)
    delegations = pc.fill_null(pc.list_value_length(t.column("authorization_list")), 0)
    derived = {
        "value_eth": pc.divide(t.column("value").cast(pa.float64()), WEI_PER_ETH),
        "fee_wei": fee_wei,
        "fee_eth": pc.divide(fee_wei.cast(pa.float64()), WEI_PER_ETH),
        "base_fee_per_gas": base_fee,
        "gas_price_to_base_fee": pa.array(to_base, from_pandas=True),
        "gas_price_to_block_median": pa.array(to_median, from_pandas=True),
        "is_contract_creation": to_null,
        "is_contract_call": pc.and_(pc.invert(to_null), has_input),
        "method_selector": selector,
        "failed": pc.fill_null(pc.equal(t.column("receipt_status"), 0), False),
        "token_transfer_count": pa.array(_token_counts(t.column("hash"), token_transfers)),
        "is_delegation": pc.and_(
            pc.fill_null(pc.equal(t.column("transaction_type"), 4), False), pc.greater(delegations, 0)
        ),  # fmt: skip
        "delegation_count": delegations,
    }
    for name, typ in DERIVED_FIELDS:
        t = t.append_column(pa.field(name, typ), derived[name].cast(typ))
    return t


def clean_transactions(
    raw: pa.Table,
    first_block: int,
    last_block: int,
    blocks: pa.Table | None = None,
    token_transfers: pa.Table | None = None,
) -> CleanResult:
    """Validate, deduplicate on hash and enrich one range's raw_transactions; rejects go to quarantine."""
    t = _conform(raw)
    masks = _reasons(t, first_block, last_block) + _delegation_reasons(t, "authorization_list" in raw.column_names)
    bad = np.zeros(t.num_rows, dtype=bool)
    for _, m in masks:
        bad |= m
    dup = _duplicates(t.column("hash"), ~bad)
    masks.append(("duplicate_hash", dup))
    reject = bad | dup
    reason = np.full(t.num_rows, "", dtype=object)
    counts: dict[str, int] = {}
    for name, m in masks:
        if m.any():
            counts[name] = int(m.sum())
            reason[m] = np.where(reason[m] == "", name, reason[m] + ";" + name)
    rej_idx = np.flatnonzero(reject)
    quarantined = t.take(pa.array(rej_idx, type=pa.int64())).append_column(
        pa.field("reason", pa.string()), pa.array(reason[rej_idx].tolist(), type=pa.string())
    )
    kept = t.filter(pa.array(~reject)) if rej_idx.size else t
    # Block order makes the cleaned table and everything computed from it deterministic.
    bn, ti = (
        kept.column("block_number").to_numpy(),
        pc.fill_null(kept.column("transaction_index"), 0).to_numpy(),
    )
    if bn.size and not (np.all(bn[1:] >= bn[:-1]) and np.all((bn[1:] > bn[:-1]) | (ti[1:] >= ti[:-1]))):
        kept = kept.take(pa.array(np.lexsort((ti, bn))))
    cleaned = _derive(kept, blocks, token_transfers)
    return CleanResult(cleaned.cast(CLEANED_SCHEMA), quarantined.cast(QUARANTINE_SCHEMA), counts)
