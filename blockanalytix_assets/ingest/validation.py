"""Pure checks on the raw tables of one block range; each returns (passed, details)."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc

Result = tuple[bool, dict]
SAMPLE = 10  # how many offending blocks / hashes a failed check lists


def blocks_complete(blocks: pa.Table, first: int, last: int) -> Result:
    """Every block of first..last is present exactly once, and no other block."""
    numbers = blocks.column("number").to_pylist()
    counts = Counter(numbers)
    missing = [n for n in range(first, last + 1) if n not in counts]
    duplicated = sorted(n for n, c in counts.items() if c > 1)
    outside = sorted(n for n in counts if n is None or not first <= n <= last)
    passed = not (missing or duplicated or outside)
    return passed, {
        "expected_blocks": last - first + 1,
        "rows": len(numbers),
        "missing": len(missing),
        "duplicated": len(duplicated),
        "outside_range": len(outside),
        "sample": (missing + duplicated + outside)[:SAMPLE],
    }


def transaction_counts_match(blocks: pa.Table, transactions: pa.Table) -> Result:
    """Each block's transaction_count equals its number of raw_transactions rows."""
    numbers, counts = blocks.column("number").to_pylist(), blocks.column("transaction_count").to_pylist()
    declared = dict(zip(numbers, counts, strict=True))
    actual = Counter(transactions.column("block_number").to_pylist())
    bad = sorted(n for n in set(declared) | set(actual) if declared.get(n, 0) != actual.get(n, 0))
    return not bad, {
        "blocks_checked": len(declared),
        "declared_transactions": sum(v or 0 for v in declared.values()),
        "transaction_rows": transactions.num_rows,
        "mismatched_blocks": len(bad),
        "sample": [{"block": n, "declared": declared.get(n), "rows": actual.get(n, 0)} for n in bad[:SAMPLE]],
    }


def transaction_hashes_unique(transactions: pa.Table) -> Result:
    """No transaction hash appears twice."""
    hashes = transactions.column("hash")
    counts = pc.value_counts(hashes)
    dups = counts.filter(pc.greater(counts.field("counts"), 1)).field("values").to_pylist()
    return not dups and not hashes.null_count, {
        "rows": transactions.num_rows,
        "duplicated": len(dups),
        "null_hashes": hashes.null_count,
        "sample": dups[:SAMPLE],
    }


def parent_hash_continuity(blocks: pa.Table, previous_hash: str | None = None) -> Result:
    """Each block's parent_hash is the previous block's hash (the first's, previous_hash when given)."""
    t = blocks.select(["number", "hash", "parent_hash"]).sort_by("number")
    numbers, hashes, parents = (t.column(c).to_pylist() for c in ("number", "hash", "parent_hash"))
    breaks = [
        {"block": numbers[i], "parent_hash": parents[i], "previous_hash": hashes[i - 1]}
        for i in range(1, len(numbers))
        if numbers[i] == numbers[i - 1] + 1 and parents[i] != hashes[i - 1]
    ]
    if previous_hash is not None and numbers and parents[0] != previous_hash:
        breaks.insert(0, {"block": numbers[0], "parent_hash": parents[0], "previous_hash": previous_hash})
    return not breaks, {
        "blocks_checked": len(numbers),
        "checked_against_previous_range": previous_hash is not None,
        "breaks": len(breaks),
        "sample": breaks[:SAMPLE],
    }


def receipts_present(transactions: pa.Table) -> Result:
    """Every transaction has its receipt: gas used, and a status (or a pre-Byzantium state root)."""
    gas = transactions.column("receipt_gas_used")
    outcome = pc.or_(
        pc.is_valid(transactions.column("receipt_status")), pc.is_valid(transactions.column("receipt_root"))
    )
    missing = pc.or_(pc.is_null(gas), pc.invert(outcome))
    bad = transactions.filter(missing)
    return bad.num_rows == 0, {
        "rows": transactions.num_rows,
        "without_receipt": bad.num_rows,
        "sample": bad.column("hash").to_pylist()[:SAMPLE],
    }


def detect_reorg(stored: tuple[int, str], node_hash: str | None) -> Result:
    """Compare the stored last block (number, hash) with the node's current hash for that number."""
    number, stored_hash = stored
    passed = node_hash is not None and node_hash.lower() == stored_hash.lower()
    details = {"block": number, "stored_hash": stored_hash, "node_hash": node_hash, "reorged": not passed}
    if not passed:
        details["fix"] = (
            f"the node no longer has block {number} with the stored hash: re-materialise this partition "
            f"(and later ones) to repair it"
            if node_hash is not None
            else f"the node has no block {number}: check BLOCKANALYTIX_RPC_URL points at the same chain"
        )
    return passed, details


def one_top_level_trace_per_transaction(transactions: pa.Table, traces: pa.Table) -> Result:
    """Every transaction has exactly one top-level trace (empty trace_address), and no trace names another."""
    top = pc.equal(pc.list_value_length(traces.column("trace_address")), 0)
    counts = Counter(traces.filter(pc.fill_null(top, False)).column("transaction_hash").to_pylist())
    counts.pop(None, None)  # block rewards have no transaction
    hashes = transactions.column("hash").to_pylist()
    missing = [h for h in hashes if counts.get(h, 0) == 0]
    repeated = sorted(h for h, c in counts.items() if c > 1)
    unknown = sorted(set(counts) - set(hashes))
    return not (missing or repeated or unknown), {
        "transactions": len(hashes),
        "top_level_traces": sum(counts.values()),
        "missing": len(missing),
        "repeated": len(repeated),
        "unknown": len(unknown),
        "sample": (missing + repeated + unknown)[:SAMPLE],
    }


EMPTY_UNCLES = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"  # sha3_uncles of no uncles


def _reward_problems(blocks: pa.Table, traces: pa.Table) -> tuple[list[dict], int]:
    """Rewards that do not fit their block, and how many blocks have a block reward."""
    miner = dict(zip(*(blocks.column(c).to_pylist() for c in ("number", "miner")), strict=True))
    uncles = dict(zip(*(blocks.column(c).to_pylist() for c in ("number", "sha3_uncles")), strict=True))
    cols = ("block_number", "reward_type", "to_address", "transaction_hash")
    rewards = traces.filter(pc.equal(traces.column("trace_type"), "reward")).select(list(cols)).to_pylist()
    per_block = Counter((r["block_number"], r["reward_type"]) for r in rewards)
    bad = [{"block": n, "problem": f"{c} {kind} rewards"} for (n, kind), c in sorted(per_block.items())
           if c > (1 if kind == "block" else 2)]  # fmt: skip
    for r in rewards:
        n = r["block_number"]
        if r["transaction_hash"] is not None:
            bad.append({"block": n, "problem": "a reward with a transaction_hash"})
        elif r["reward_type"] == "block" and (r["to_address"] or "").lower() != (miner.get(n) or "").lower():
            bad.append({"block": n, "problem": f"block reward to {r['to_address']}, not the miner {miner.get(n)}"})
        elif r["reward_type"] == "uncle" and uncles.get(n) == EMPTY_UNCLES:
            bad.append({"block": n, "problem": "an uncle reward in a block without uncles"})
    rewarded = sorted(n for n, kind in per_block if kind == "block")
    if rewarded:  # the node reports rewards: every block between the first and last rewarded one has its own
        gaps = [n for n in miner if rewarded[0] < n < rewarded[-1] and (n, "block") not in per_block]
        bad += [{"block": n, "problem": "no block reward"} for n in sorted(gaps)]
    return bad, len(rewarded)


def traces_consistent_with_blocks(blocks: pa.Table, transactions: pa.Table, traces: pa.Table) -> Result:
    """Each block's traces belong to it: every transaction has traces with its block and index, and rewards fit."""
    cols = ("hash", "block_number", "transaction_index")
    tx_at = {h: (b, i) for h, b, i in zip(*(transactions.column(c).to_pylist() for c in cols), strict=True)}
    keys = ["transaction_hash", "block_number", "transaction_index"]
    traced = traces.group_by(keys, use_threads=False).aggregate([]).to_pylist()  # distinct (hash, block, index)
    have = {r["transaction_hash"] for r in traced}
    at = [(r["transaction_hash"], (r["block_number"], r["transaction_index"])) for r in traced]
    misplaced = sorted({h for h, where in at if h is not None and tx_at.get(h) != where})
    untraced = [h for h in tx_at if h not in have]
    numbers = set(blocks.column("number").to_pylist())
    outside = sorted({r["block_number"] for r in traced} - numbers, key=lambda n: (n is None, n or 0))
    rewards, rewarded = _reward_problems(blocks, traces)
    return not (misplaced or untraced or outside or rewards), {
        "blocks": len(numbers),
        "transactions": len(tx_at),
        "traces": traces.num_rows,
        "transactions_without_traces": len(untraced),
        "transactions_with_misplaced_traces": len(misplaced),
        "trace_blocks_outside_range": len(outside),
        "blocks_with_block_reward": rewarded,
        "reward_problems": len(rewards),
        "sample": (untraced + misplaced)[:SAMPLE] + outside[:SAMPLE] + rewards[:SAMPLE],
    }
