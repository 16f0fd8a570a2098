"""Partitioned asset checks on the raw tables: completeness, counts, uniqueness, continuity, reorgs."""

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.ingest import validation as v
from blockanalytix_assets.ingest.contract_mapping import contracts_complete
from blockanalytix_assets.ingest.rpc_errors import BlockNotFoundError
from blockanalytix_assets.range_checks import RangeInputs, Result, range_check
from blockanalytix_assets.ranges import previous_key


@range_check(tn.RAW_BLOCKS, "Every block of the range exactly once.")
def raw_blocks_complete(i: RangeInputs) -> Result:
    blocks = i.store.read(tn.RAW_BLOCKS, i.range.key, columns=["number"])
    return v.blocks_complete(blocks, i.range.first, i.range.last)


@range_check(tn.RAW_BLOCKS, "parent_hash links each block to the one before, across the previous range too.")
def raw_blocks_parent_hash_continuity(i: RangeInputs) -> Result:
    blocks = i.store.read(tn.RAW_BLOCKS, i.range.key, columns=["number", "hash", "parent_hash"])
    return v.parent_hash_continuity(blocks, _last_hash(i, previous_key(i.range.key)))


def _last_hash(i: RangeInputs, prev: str | None) -> str | None:
    """The hash of the previous range's last stored block, if that range is stored."""
    if not prev or not i.store.exists(tn.RAW_BLOCKS, prev):
        return None
    previous = i.store.read(tn.RAW_BLOCKS, prev, columns=["number", "hash"]).sort_by("number")
    return previous.column("hash")[-1].as_py() if previous.num_rows else None


@range_check(
    tn.RAW_BLOCKS, "The stored last block is still the node's canonical block (fails after a reorg).", rpc=True
)
def raw_blocks_canonical(i: RangeInputs) -> Result:
    blocks = i.store.read(tn.RAW_BLOCKS, i.range.key, columns=["number", "hash"]).sort_by("number")
    number, stored_hash = blocks.column("number")[-1].as_py(), blocks.column("hash")[-1].as_py()
    try:
        node_hash = i.node().get_blocks([number], full=False)[0].get("hash")
    except BlockNotFoundError:
        node_hash = None
    return v.detect_reorg((number, stored_hash), node_hash)


@range_check(
    tn.RAW_TRANSACTIONS, "Each block's transactionCount equals its transaction rows.", additional_deps=[tn.RAW_BLOCKS]
)
def raw_transactions_count_per_block(i: RangeInputs) -> Result:
    blocks = i.store.read(tn.RAW_BLOCKS, i.range.key, columns=["number", "transaction_count"])
    return v.transaction_counts_match(blocks, i.store.read(tn.RAW_TRANSACTIONS, i.range.key, columns=["block_number"]))


@range_check(tn.RAW_TRANSACTIONS, "Transaction hashes are unique.")
def raw_transactions_unique_hash(i: RangeInputs) -> Result:
    return v.transaction_hashes_unique(i.store.read(tn.RAW_TRANSACTIONS, i.range.key, columns=["hash"]))


@range_check(tn.RAW_TRANSACTIONS, "Every transaction has a receipt.")
def raw_transactions_receipts_present(i: RangeInputs) -> Result:
    cols = ["hash", "receipt_gas_used", "receipt_status", "receipt_root"]
    return v.receipts_present(i.store.read(tn.RAW_TRANSACTIONS, i.range.key, columns=cols))


# a node without traces: raw_checks_job re-checks every range, and there is no raw_traces file to check
NO_TRACES: Result = True, {"checked": False, "reason": "raw_traces not stored for this range (BLOCKANALYTIX_TRACES)"}


@range_check(
    tn.RAW_TRACES,
    "Every transaction has exactly one top-level trace (empty trace_address).",
    additional_deps=[tn.RAW_TRANSACTIONS],
)
def raw_traces_one_top_level_per_transaction(i: RangeInputs) -> Result:
    if not i.store.exists(tn.RAW_TRACES, i.range.key):
        return NO_TRACES
    txs = i.store.read(tn.RAW_TRANSACTIONS, i.range.key, columns=["hash"])
    traces = i.store.read(tn.RAW_TRACES, i.range.key, columns=["transaction_hash", "trace_address"])
    return v.one_top_level_trace_per_transaction(txs, traces)


@range_check(
    tn.RAW_TRACES,
    "Each block's traces belong to it: its transactions' (block, index); block rewards to its miner where reported.",
    additional_deps=[tn.RAW_BLOCKS, tn.RAW_TRANSACTIONS],
)
def raw_traces_consistent_with_blocks(i: RangeInputs) -> Result:
    if not i.store.exists(tn.RAW_TRACES, i.range.key):
        return NO_TRACES
    blocks = i.store.read(tn.RAW_BLOCKS, i.range.key, columns=["number", "miner", "sha3_uncles"])
    txs = i.store.read(tn.RAW_TRANSACTIONS, i.range.key, columns=["hash", "block_number", "transaction_index"])
    cols = ["block_number", "transaction_hash", "transaction_index", "trace_type", "reward_type", "to_address"]
    return v.traces_consistent_with_blocks(blocks, txs, i.store.read(tn.RAW_TRACES, i.range.key, columns=cols))


@range_check(
    tn.CONTRACTS, "Every contract created in the range (successful create traces) is in contracts.",
    additional_deps=[tn.RAW_TRACES],
)  # fmt: skip
def contracts_every_created_contract(i: RangeInputs) -> Result:
    if not i.store.exists(tn.CONTRACTS, i.range.key):  # a node without traces
        return True, {"checked": False, "reason": "contracts not stored for this range (BLOCKANALYTIX_TRACES)"}
    traces = i.store.read(tn.RAW_TRACES, i.range.key, columns=["trace_type", "to_address", "status"])
    return contracts_complete(traces, i.store.read(tn.CONTRACTS, i.range.key, columns=["address"]))
