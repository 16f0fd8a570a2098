"""traces_consistent_with_blocks on real mainnet trace_block answers (with and without rewards), and damaged."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets.ingest import trace_mapping as tm
from blockanalytix_assets.ingest import validation as v
from blockanalytix_tests.faultproxy import recorded

MINER_2000200 = "0x4bb96091ee9d802ed039c4d1a5f6216f90f81b01"  # the author of its recorded block reward


def traces_of(number: int) -> pa.Table:
    _, result = recorded(f"erigon/trace_block_{number}.json.gz")
    return tm.map_traces(tm.PARITY, {number: result}, [{"number": hex(number), "transactions": []}])


def block_tables(traces: pa.Table, miner: str, uncles: str = v.EMPTY_UNCLES) -> tuple[pa.Table, pa.Table]:
    """raw_blocks and raw_transactions columns the check reads, as the block's top-level traces describe them."""
    numbers = sorted(set(traces.column("block_number").to_pylist()))
    blocks = pa.table({"number": numbers, "miner": [miner] * len(numbers), "sha3_uncles": [uncles] * len(numbers)})
    top = traces.filter(pc.equal(pc.list_value_length(traces.column("trace_address")), 0))
    top = top.filter(pc.is_valid(top.column("transaction_hash")))
    txs = top.select(["transaction_hash", "block_number", "transaction_index"]).rename_columns(
        ["hash", "block_number", "transaction_index"]
    )
    return blocks, txs


def test_mainnet_blocks_pass_with_their_block_reward_and_after_the_merge_without():
    pre = traces_of(2000200)
    passed, details = v.traces_consistent_with_blocks(*block_tables(pre, MINER_2000200), pre)
    assert passed, details
    assert (details["transactions"], details["traces"], details["blocks_with_block_reward"]) == (24, 42, 1)
    post = traces_of(15537394)  # the first block after the merge: no rewards
    passed, details = v.traces_consistent_with_blocks(*block_tables(post, "0x" + "ab" * 20), post)
    assert passed and details["blocks_with_block_reward"] == 0 and details["transactions"] == 80


def test_missing_misplaced_and_foreign_traces_fail():
    traces = traces_of(15537394)
    blocks, txs = block_tables(traces, "0x" + "ab" * 20)
    first = txs.column("hash")[0].as_py()
    without_first = traces.filter(pc.not_equal(pc.fill_null(traces.column("transaction_hash"), ""), first))
    passed, details = v.traces_consistent_with_blocks(blocks, txs, without_first)
    assert not passed and details["transactions_without_traces"] == 1 and details["sample"] == [first]
    # the block's transactions in another order than their traces say (a trace mapped against the wrong block)
    shifted = txs.set_column(2, "transaction_index", pc.add(txs.column("transaction_index"), 1))
    passed, details = v.traces_consistent_with_blocks(blocks, shifted, traces)
    assert not passed and details["transactions_with_misplaced_traces"] == txs.num_rows
    # traces of a block that is not in the range
    passed, details = v.traces_consistent_with_blocks(blocks.slice(0, 0), txs.slice(0, 0), traces)
    assert not passed and details["trace_blocks_outside_range"] == 1 and 15537394 in details["sample"]


def test_rewards_to_another_address_twice_in_a_gap_or_for_absent_uncles_fail():
    pre = traces_of(2000200)
    blocks, txs = block_tables(pre, "0x" + "cd" * 20)
    passed, details = v.traces_consistent_with_blocks(blocks, txs, pre)
    assert not passed and details["reward_problems"] == 1 and "not the miner" in details["sample"][0]["problem"]
    reward = pre.filter(pc.equal(pre.column("trace_type"), "reward"))
    blocks, txs = block_tables(pre, MINER_2000200)
    passed, details = v.traces_consistent_with_blocks(blocks, txs, pa.concat_tables([pre, reward]))
    assert not passed and details["sample"] == [{"block": 2000200, "problem": "2 block rewards"}]
    uncle = reward.set_column(10, "reward_type", pa.array(["uncle"]))
    passed, details = v.traces_consistent_with_blocks(blocks, txs, pa.concat_tables([pre, uncle]))
    assert not passed and details["sample"][0]["problem"] == "an uncle reward in a block without uncles"
    with_uncles = blocks.set_column(2, "sha3_uncles", pa.array(["0x" + "12" * 32]))
    assert v.traces_consistent_with_blocks(with_uncles, txs, pa.concat_tables([pre, uncle]))[0]
    # three empty blocks where the node reports rewards: the middle one lacks its own
    three = pa.table({"number": [1, 2, 3], "miner": [MINER_2000200] * 3, "sha3_uncles": [v.EMPTY_UNCLES] * 3})
    rewards = pa.concat_tables([reward.set_column(0, "block_number", pa.array([n], pa.int64())) for n in (1, 3)])
    passed, details = v.traces_consistent_with_blocks(three, txs.slice(0, 0), rewards)
    assert not passed and details["sample"] == [{"block": 2, "problem": "no block reward"}]
    assert v.traces_consistent_with_blocks(three.slice(0, 2), txs.slice(0, 0), rewards.slice(0, 1))[0]
