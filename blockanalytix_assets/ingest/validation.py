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
