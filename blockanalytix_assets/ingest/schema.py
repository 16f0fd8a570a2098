"""Arrow schemas of the raw tables, named and typed like ethereum-etl's crypto_ethereum exports."""

import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.storage import Storage

WEI = pa.decimal128(38, 0)  # exact wei; 10^38 wei is far above the ether supply
ERC20, ERC721 = "erc20", "erc721"  # token_transfers.token_standard values

WITHDRAWAL = pa.struct(
    [
        ("index", pa.int64()),
        ("validator_index", pa.int64()),
        ("address", pa.string()),
        ("amount", pa.int64()),  # gwei, as in the RPC
    ]
)
# One EIP-7702 authorization tuple; `authority` (ours) is the recovered signer, null where none recovers.
AUTHORIZATION = pa.struct(
    [
        ("chain_id", pa.string()),  # uint256 as a decimal string; "0" = valid on every chain
        ("address", pa.string()),  # the delegation target (0x00..00 revokes)
        ("nonce", pa.uint64()),
        ("y_parity", pa.uint8()),
        ("r", pa.string()),  # 0x + 64 hex digits (nodes drop leading zeros; normalised)
        ("s", pa.string()),
        ("authority", pa.string()),
    ]
)

BLOCKS = pa.schema(
    [
        ("number", pa.int64()),
        ("hash", pa.string()),
        ("parent_hash", pa.string()),
        ("nonce", pa.string()),
        ("sha3_uncles", pa.string()),
        ("logs_bloom", pa.string()),
        ("transactions_root", pa.string()),
        ("state_root", pa.string()),
        ("receipts_root", pa.string()),
        ("miner", pa.string()),
        ("difficulty", WEI),
        ("total_difficulty", WEI),
        ("size", pa.int64()),
        ("extra_data", pa.string()),
        ("gas_limit", pa.int64()),
        ("gas_used", pa.int64()),
        ("timestamp", pa.int64()),
        ("transaction_count", pa.int64()),
        ("base_fee_per_gas", pa.int64()),
        ("withdrawals_root", pa.string()),
        ("withdrawals", pa.list_(WITHDRAWAL)),
        ("blob_gas_used", pa.int64()),
        ("excess_blob_gas", pa.int64()),
    ]
)

TRANSACTIONS = pa.schema(
    [
        ("hash", pa.string()),
        ("nonce", pa.int64()),
        ("block_hash", pa.string()),
        ("block_number", pa.int64()),
        ("transaction_index", pa.int64()),
        ("from_address", pa.string()),
        ("to_address", pa.string()),
        ("value", WEI),
        ("gas", pa.int64()),
        ("gas_price", pa.int64()),
        ("input", pa.string()),
        ("block_timestamp", pa.int64()),
        ("max_fee_per_gas", pa.int64()),
        ("max_priority_fee_per_gas", pa.int64()),
        ("transaction_type", pa.int64()),
        ("max_fee_per_blob_gas", pa.int64()),
        ("blob_versioned_hashes", pa.list_(pa.string())),
        ("receipt_cumulative_gas_used", pa.int64()),
        ("receipt_gas_used", pa.int64()),
        ("receipt_contract_address", pa.string()),
        ("receipt_root", pa.string()),
        ("receipt_status", pa.int64()),
        ("receipt_effective_gas_price", pa.int64()),
        ("receipt_blob_gas_price", pa.int64()),
        ("receipt_blob_gas_used", pa.int64()),
        ("authorization_list", pa.list_(AUTHORIZATION)),  # type-4 (EIP-7702) only; null for other types
    ]
)

LOGS = pa.schema(
    [
        ("log_index", pa.int64()),
        ("transaction_hash", pa.string()),
        ("transaction_index", pa.int64()),
        ("block_hash", pa.string()),
        ("block_number", pa.int64()),
        ("address", pa.string()),
        ("data", pa.string()),
        ("topics", pa.list_(pa.string())),
    ]
)

# The Transfer events as the logs give them (ethereum-etl's columns, then token_standard)
TRANSFER_EVENTS = pa.schema(
    [
        ("token_address", pa.string()),
        ("from_address", pa.string()),
        ("to_address", pa.string()),
        ("value", pa.string()),  # uint256 as a decimal string: exact, any size
        ("transaction_hash", pa.string()),
        ("log_index", pa.int64()),
        ("block_number", pa.int64()),
        ("token_standard", pa.string()),  # ERC20 or ERC721 (4 topics: value is the token id); not in ethereum-etl
    ]
)
# token_transfers: the events plus the token's decimals() (eth_call at the range's last block) and value scaled by it
TOKEN_TRANSFERS = pa.schema(
    [
        *TRANSFER_EVENTS,
        ("decimals", pa.int64()),  # null where decimals() reverts, is missing or does not decode
        ("scaled_value", pa.float64()),  # value / 10**decimals; null where decimals is
    ]
)

TRACES = pa.schema(
    [
        ("block_number", pa.int64()),
        ("transaction_hash", pa.string()),  # null for block rewards
        ("transaction_index", pa.int64()),
        ("from_address", pa.string()),
        ("to_address", pa.string()),
        ("value", WEI),
        ("input", pa.string()),
        ("output", pa.string()),
        ("trace_type", pa.string()),  # call, create, suicide, reward
        ("call_type", pa.string()),  # call, delegatecall, staticcall, callcode
        ("reward_type", pa.string()),
        ("gas", pa.int64()),
        ("gas_used", pa.int64()),
        ("subtraces", pa.int64()),
        ("trace_address", pa.list_(pa.int64())),  # ethereum-etl's CSV joins it with commas
        ("error", pa.string()),
        ("status", pa.int64()),  # 0 where the trace or any ancestor failed
        ("trace_id", pa.string()),
    ]
)

# ethereum-etl's extract_contracts and extract_tokens columns
CONTRACTS = pa.schema(
    [
        ("address", pa.string()),
        ("bytecode", pa.string()),
        ("function_sighashes", pa.list_(pa.string())),  # PUSH4 operands of the first basic block, sorted
        ("is_erc20", pa.bool_()),
        ("is_erc721", pa.bool_()),
        ("block_number", pa.int64()),
    ]
)

TOKENS = pa.schema(
    [
        ("address", pa.string()),
        ("symbol", pa.string()),
        ("name", pa.string()),
        ("decimals", pa.int64()),
        ("total_supply", pa.string()),  # uint256 as a decimal string
        ("block_number", pa.int64()),  # the contract's creation block
    ]
)


def erc20_transfers(token_transfers: pa.Table) -> pa.Table:
    """The ERC-20 rows of a token_transfers table."""
    return token_transfers.filter(pc.fill_null(pc.not_equal(token_transfers.column("token_standard"), ERC721), True))


def read_token_transfers(store: Storage, key: str, columns: list[str]) -> pa.Table | None:
    """A range's token_transfers columns; None if not stored."""
    if not store.exists(tn.TOKEN_TRANSFERS, key):
        return None
    return store.read(tn.TOKEN_TRANSFERS, key, columns=columns)


INTERNAL_TRANSFERS = pa.schema(
    [
        ("block_number", pa.int64()),
        ("block_timestamp", pa.int64()),
        ("transaction_hash", pa.string()),
        ("transaction_index", pa.int64()),
        ("trace_id", pa.string()),
        ("trace_address", pa.list_(pa.int64())),
        ("trace_type", pa.string()),  # call, create or suicide (a selfdestruct's refund)
        ("call_type", pa.string()),  # call; null for create and suicide
        ("from_address", pa.string()),
        ("to_address", pa.string()),
        ("value", WEI),  # exact wei, as raw_traces.value
        ("value_eth", pa.float64()),  # value / 1e18, as cleaned_transactions.value_eth
    ]
)


def read_internal_transfers(store: Storage, key: str, columns: list[str]) -> pa.Table | None:
    """A range's internal_transfers columns; None where not stored (the node served no traces: unknown)."""
    if not store.exists(tn.INTERNAL_TRANSFERS, key):
        return None
    return store.read(tn.INTERNAL_TRANSFERS, key, columns=columns)
