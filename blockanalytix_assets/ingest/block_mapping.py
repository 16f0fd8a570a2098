"""raw_blocks and raw_transactions (receipt_* fields, EIP-7702 authorization lists) from RPC blocks and receipts."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from blockanalytix_assets.ingest.authorization import map_authorization_lists
from blockanalytix_assets.ingest.mapping_common import (
    ERRORS,
    MalformedResponseError,
    Receipts,
    Record,
    columns,
    diagnose,
    pick,
    required_keys,
    to_table,
)
from blockanalytix_assets.ingest.schema import BLOCKS, TRANSACTIONS

# column -> (how, RPC key): "req"/"opt" copy a value, "int"/"oint" parse hex; req/int must be present.
BLOCK_COLS = {
    "number": ("int", "number"), "hash": ("req", "hash"), "parent_hash": ("req", "parentHash"),
    "nonce": ("opt", "nonce"), "sha3_uncles": ("opt", "sha3Uncles"), "logs_bloom": ("opt", "logsBloom"),
    "transactions_root": ("opt", "transactionsRoot"), "state_root": ("opt", "stateRoot"),
    "receipts_root": ("opt", "receiptsRoot"), "miner": ("opt", "miner"), "difficulty": ("oint", "difficulty"),
    "total_difficulty": ("oint", "totalDifficulty"), "size": ("oint", "size"),
    "extra_data": ("opt", "extraData"), "gas_limit": ("oint", "gasLimit"), "gas_used": ("oint", "gasUsed"),
    "timestamp": ("int", "timestamp"),
    "base_fee_per_gas": ("oint", "baseFeePerGas"), "withdrawals_root": ("opt", "withdrawalsRoot"),
    "blob_gas_used": ("oint", "blobGasUsed"), "excess_blob_gas": ("oint", "excessBlobGas"),
}  # fmt: skip
TX_COLS = {
    "hash": ("req", "hash"), "nonce": ("int", "nonce"), "transaction_index": ("int", "transactionIndex"),
    "from_address": ("req", "from"), "to_address": ("opt", "to"), "value": ("int", "value"),
    "gas": ("int", "gas"), "gas_price": ("oint", "gasPrice"), "max_fee_per_gas": ("oint", "maxFeePerGas"),
    "max_priority_fee_per_gas": ("oint", "maxPriorityFeePerGas"), "transaction_type": ("oint", "type"),
    "max_fee_per_blob_gas": ("oint", "maxFeePerBlobGas"),
    "blob_versioned_hashes": ("opt", "blobVersionedHashes"),
}  # fmt: skip
RECEIPT_COLS = {
    "receipt_cumulative_gas_used": ("int", "cumulativeGasUsed"), "receipt_gas_used": ("int", "gasUsed"),
    "receipt_contract_address": ("opt", "contractAddress"), "receipt_root": ("opt", "root"),
    "receipt_status": ("oint", "status"), "receipt_effective_gas_price": ("oint", "effectiveGasPrice"),
    "receipt_blob_gas_price": ("oint", "blobGasPrice"), "receipt_blob_gas_used": ("oint", "blobGasUsed"),
}  # fmt: skip
WITHDRAWAL_KEYS = ("index", "validatorIndex", "address", "amount")


def _withdrawals(ws: list[dict] | None) -> list[dict] | None:
    if ws is None:
        return None
    return [{"index": int(w["index"], 16), "validator_index": int(w["validatorIndex"], 16),
             "address": w["address"].lower(), "amount": int(w["amount"], 16)} for w in ws]  # fmt: skip


def map_blocks(blocks: Sequence[dict]) -> pa.Table:
    """raw_blocks rows, one per block."""
    try:
        cols = columns(blocks, BLOCK_COLS)
        cols["transaction_count"] = [len(b["transactions"]) for b in blocks]
        cols["withdrawals"] = [_withdrawals(b.get("withdrawals")) for b in blocks]
    except ERRORS as exc:
        records: list[Record] = []
        for i, b in enumerate(blocks):
            where = f"block {b.get('number') if isinstance(b, dict) else f'#{i}'}"
            records.append((where, "block", b, required_keys(BLOCK_COLS) + ["transactions"]))
            ws = b.get("withdrawals") if isinstance(b, dict) else None
            records += [(where, "withdrawal", w, WITHDRAWAL_KEYS) for w in ws or []]
        raise diagnose(records, exc) from None
    return to_table(BLOCKS, cols)


def _flatten(blocks: Sequence[dict], receipts: Receipts | None) -> tuple[list, list, dict[str, list]]:
    """All transactions, their aligned receipts and the per-transaction block columns."""
    txs: list[dict] = []
    recs: list[dict] = []
    cols: dict[str, list] = {"block_hash": [], "block_number": [], "block_timestamp": []}
    for b in blocks:
        try:
            bn, bt, ts, bh = int(b["number"], 16), b["transactions"], int(b["timestamp"], 16), b["hash"]
        except ERRORS as exc:
            where = f"block {b.get('number') if isinstance(b, dict) else '?'}"
            raise diagnose([(where, "block", b, ("number", "hash", "timestamp"))], exc) from None
        if bt and not isinstance(bt[0], dict):
            raise MalformedResponseError(f"block {bn}: transactions are hashes, fetch blocks with full=True")
        n = len(bt)
        cols["block_hash"] += [bh] * n
        cols["block_number"] += [bn] * n
        cols["block_timestamp"] += [ts] * n
        txs += bt
        if receipts is None:
            continue
        br = receipts.get(bn)
        if br is None or len(br) != n:
            got = 0 if br is None else len(br)
            raise MalformedResponseError(f"block {bn}: {n} transactions but {got} receipts")
        try:
            aligned = [r["transactionHash"] for r in br] == [t["hash"] for t in bt]
        except ERRORS as exc:
            places = [f"block {bn} transaction {i}" for i in range(n)]
            records: list[Record] = [(w, "transaction", t, ["hash"]) for w, t in zip(places, bt, strict=True)]
            raise diagnose(
                records + [(w, "receipt", r, ["transactionHash"]) for w, r in zip(places, br, strict=False)],
                exc,
            ) from None
        if not aligned:
            raise MalformedResponseError(f"block {bn}: receipts do not match the block's transactions")
        recs += br
    return txs, recs, cols


def map_transactions(blocks: Sequence[dict], receipts: Receipts | None = None) -> pa.Table:
    """raw_transactions rows (transaction + receipt_* fields; receipt fields null without receipts)."""
    txs, recs, cols = _flatten(blocks, receipts)
    try:
        cols |= columns(txs, TX_COLS)
        try:
            cols["input"] = pick(txs, "input")
        except KeyError:  # a few nodes still call it "data"
            cols["input"] = [t.get("input", t.get("data")) for t in txs]
        none = [None] * len(txs)
        cols |= columns(recs, RECEIPT_COLS) if receipts is not None else dict.fromkeys(RECEIPT_COLS, none)
    except ERRORS as exc:
        bns = cols["block_number"]
        where = [f"block {bn} transaction {i - bns.index(bn)}" for i, bn in enumerate(bns)]
        records: list[Record] = [(w, "transaction", t, required_keys(TX_COLS)) for w, t in zip(where, txs, strict=True)]
        records += [(w, "receipt", r, required_keys(RECEIPT_COLS)) for w, r in zip(where, recs, strict=False)]
        raise diagnose(records, exc) from None
    cols["authorization_list"] = map_authorization_lists(txs, cols["block_number"])
    return to_table(TRANSACTIONS, cols)
