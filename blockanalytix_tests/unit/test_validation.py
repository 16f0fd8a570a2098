"""Range checks on tables mapped from real mainnet blocks, and on the same tables damaged."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets.ingest import validation as v
from blockanalytix_assets.ingest.block_mapping import map_blocks, map_transactions
from blockanalytix_tests.faultproxy import recorded

ETL = "ethereum-etl/blocks_47218/web3_response.eth_getBlockByNumber_{}_true.json"


def consecutive_blocks() -> list[dict]:
    """Mainnet blocks 47218 and 47219, with transactions."""
    return [recorded(ETL.format(h))[1] for h in ("0xb872", "0xb873")]


def test_complete_range_passes_and_gaps_duplicates_and_strays_fail():
    blocks = map_blocks(consecutive_blocks())
    assert v.blocks_complete(blocks, 47218, 47219)[0]
    passed, details = v.blocks_complete(blocks, 47218, 47220)
    assert not passed and details["missing"] == 1 and details["sample"] == [47220]
    passed, details = v.blocks_complete(pa.concat_tables([blocks, blocks.slice(1)]), 47218, 47219)
    assert not passed and details["duplicated"] == 1
    passed, details = v.blocks_complete(blocks, 47219, 47219)
    assert not passed and details["outside_range"] == 1


def test_transaction_counts_and_unique_hashes():
    raw = consecutive_blocks()
    blocks, txs = map_blocks(raw), map_transactions(raw)
    assert v.transaction_counts_match(blocks, txs)[0] and v.transaction_hashes_unique(txs)[0]
    passed, details = v.transaction_counts_match(blocks, txs.slice(0, txs.num_rows - 1))
    assert not passed and details["sample"] == [{"block": 47219, "declared": 2, "rows": 1}]
    passed, details = v.transaction_hashes_unique(pa.concat_tables([txs, txs.slice(0, 1)]))
    assert not passed and details["sample"] == [txs.column("hash")[0].as_py()]


def test_parent_hash_continuity_inside_and_across_ranges():
    raw = consecutive_blocks()
    blocks = map_blocks(raw)
    assert v.parent_hash_continuity(blocks, previous_hash=raw[0]["parentHash"])[0]
    passed, details = v.parent_hash_continuity(blocks, previous_hash="0x" + "0" * 64)
    assert not passed and details["sample"][0]["block"] == 47218
    forked = blocks.set_column(2, "parent_hash", pa.array([raw[0]["parentHash"], "0x" + "1" * 64]))
    passed, details = v.parent_hash_continuity(forked)
    assert not passed and details["breaks"] == 1 and details["sample"][0]["block"] == 47219


def test_receipts_present_including_pre_byzantium_roots():
    block = recorded("erigon/eth_getBlockByNumber_18000000.json.gz")[1]
    receipts = recorded("erigon/eth_getBlockReceipts_18000000.json.gz")[1]
    assert v.receipts_present(map_transactions([block], {18000000: receipts}))[0]
    passed, details = v.receipts_present(map_transactions([block]))
    assert not passed and details["without_receipt"] == 94
    old_block = recorded("ethereum-etl/block_483920/web3_response.eth_getBlockByNumber_0x76250_true.json")[1]
    old = [recorded(f"ethereum-etl/block_483920/web3_response.eth_getTransactionReceipt_{t['hash']}.json")[1]
           for t in old_block["transactions"]]  # fmt: skip
    txs = map_transactions([old_block], {483920: old})
    assert txs.column("receipt_status").null_count == txs.num_rows  # status came with Byzantium
    assert v.receipts_present(txs)[0]
    damaged = txs.set_column(
        txs.schema.get_field_index("receipt_gas_used"), "receipt_gas_used", pc.if_else(
            pa.array([True] + [False] * (txs.num_rows - 1)), None, txs.column("receipt_gas_used"))
    )  # fmt: skip
    passed, details = v.receipts_present(damaged)
    assert not passed and details["sample"] == [old_block["transactions"][0]["hash"]]


def test_reorg_detection():
    h = recorded("erigon/eth_getBlockByNumber_18000000.json.gz")[1]["hash"]
    upper = h.upper().replace("0X", "0x")
    expected = {"block": 18000000, "stored_hash": h, "node_hash": upper, "reorged": False}
    assert v.detect_reorg((18000000, h), upper) == (True, expected)
    passed, details = v.detect_reorg((18000000, h), "0x" + "2" * 64)
    assert not passed and details["reorged"] and "re-materialise" in details["fix"]
    passed, details = v.detect_reorg((18000000, h), None)
    assert not passed and "BLOCKANALYTIX_RPC_URL" in details["fix"]


def test_one_top_level_trace_per_transaction():
    schema = pa.schema([("transaction_hash", pa.string()), ("trace_address", pa.list_(pa.int64()))])
    txs = pa.table({"hash": ["0xa", "0xb"]})
    good = pa.Table.from_pylist(
        [{"transaction_hash": "0xa", "trace_address": []}, {"transaction_hash": "0xa", "trace_address": [0]},
         {"transaction_hash": "0xb", "trace_address": []}, {"transaction_hash": None, "trace_address": []}],
        schema=schema,
    )  # fmt: skip
    passed, details = v.one_top_level_trace_per_transaction(txs, good)
    assert passed and details["top_level_traces"] == 2
    bad = pa.Table.from_pylist(
        [{"transaction_hash": "0xa", "trace_address": []}, {"transaction_hash": "0xa", "trace_address": []},
         {"transaction_hash": "0xc", "trace_address": []}],
        schema=schema,
    )  # fmt: skip
    passed, details = v.one_top_level_trace_per_transaction(txs, bad)
    assert not passed and (details["missing"], details["repeated"], details["unknown"]) == (1, 1, 1)
    assert details["sample"] == ["0xb", "0xa", "0xc"]
