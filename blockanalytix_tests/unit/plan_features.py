"""transaction_features per range from the devnet *plan* (no anvil): planned txs as raw rows, cleaned, featurised."""

from __future__ import annotations

import pyarrow as pa

from blockanalytix_assets.devnet.plan import BASE_FEE, Tx
from blockanalytix_assets.devnet.scenario import plan_blocks
from blockanalytix_assets.devnet.world import ScenarioConfig, World
from blockanalytix_assets.features.transaction import transaction_features
from blockanalytix_assets.ingest.schema import ERC20, TRANSACTIONS
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.transform.cleaning import clean_transactions


def _raw_row(tx: Tx, number: int, timestamp: int, index: int) -> dict:
    """The raw_transactions row a node would return for a planned tx (gas used and prices approximated)."""
    fees = tx.fees
    price = min(fees.max_fee, BASE_FEE + fees.tip) if fees.tx_type == 2 else fees.gas_price
    used = tx.gas if tx.data == "0x" and not tx.reverts else int(tx.gas * 0.6)
    return {
        "hash": f"0x{number:032x}{index:032x}",
        "nonce": tx.nonce,
        "block_number": number,
        "transaction_index": index,
        "from_address": tx.sender,
        "to_address": tx.to,
        "value": tx.value,
        "gas": tx.gas,
        "gas_price": price,
        "input": tx.data,
        "block_timestamp": timestamp,
        "max_fee_per_gas": fees.max_fee if fees.tx_type == 2 else None,
        "max_priority_fee_per_gas": fees.tip if fees.tx_type == 2 else None,
        "transaction_type": fees.tx_type,
        "receipt_gas_used": used,
        "receipt_status": 0 if tx.reverts else 1,
        "receipt_effective_gas_price": price,
    }


def plan_cleaned(config: ScenarioConfig, range_size: int) -> dict[str, pa.Table]:
    """cleaned_transactions per complete range of blocks 0.. of the plan, keyed by partition key."""
    rows: dict[int, list[dict]] = {}
    tokens: dict[int, list[str]] = {}
    for block in plan_blocks(World(config)):
        start = block.number // range_size * range_size
        for i, tx in enumerate(block.txs):
            row = _raw_row(tx, block.number, block.timestamp, i)
            rows.setdefault(start, []).append(row)
            if tx.kind == "token" and not tx.reverts:
                tokens.setdefault(start, []).append(row["hash"])
    out = {}
    for start in sorted(rows):
        last = start + range_size - 1
        if last > config.blocks:
            break
        blocks = pa.table({"number": list(range(start, last + 1)), "base_fee_per_gas": [BASE_FEE] * range_size})
        hashes = tokens.get(start, [])
        transfers = pa.table(
            {
                "transaction_hash": pa.array(hashes, pa.string()),
                "token_standard": pa.array([ERC20] * len(hashes), pa.string()),
            }
        )
        raw = pa.Table.from_pylist(rows[start], schema=TRANSACTIONS)
        out[format_key(start, last)] = clean_transactions(raw, start, last, blocks, transfers).cleaned
    return out


def plan_features(config: ScenarioConfig, range_size: int, lookback: int = 2) -> dict[str, pa.Table]:
    """transaction_features per complete range of the plan, each with up to `lookback` earlier ranges."""
    cleaned = plan_cleaned(config, range_size)
    keys = list(cleaned)
    return {
        k: transaction_features(cleaned[k], [cleaned[p] for p in keys[max(0, i - lookback) : i]])
        for i, k in enumerate(keys)
    }
