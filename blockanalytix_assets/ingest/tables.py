"""The raw tables, one RawTable entry each in RAW_TABLES: the raw_ingest asset, its jobs and extract follow it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pyarrow as pa

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.ingest import schema
from blockanalytix_assets.ingest.block_mapping import map_blocks, map_transactions
from blockanalytix_assets.ingest.internal_mapping import map_internal_transfers
from blockanalytix_assets.ingest.log_mapping import map_logs, map_token_transfers
from blockanalytix_assets.ingest.rpc_requests import TRACE_METHODS, RangeResponses
from blockanalytix_assets.ingest.trace_mapping import map_traces

# (the span's RPC answers, the tables mapped before it in the registry) -> its rows, with exactly its schema
Mapper = Callable[[RangeResponses, Mapping[str, pa.Table]], pa.Table]


@dataclass(frozen=True)
class RawTable:
    """One raw table: name (asset key and storage folder), Arrow schema, description, preview, RPC methods, mapper."""

    name: str
    schema: pa.Schema
    description: str
    preview: tuple[str, ...]  # the columns of the markdown preview in the materialisation's metadata
    methods: tuple[str, ...]  # the JSON-RPC methods its rows come from (shown on the asset as rpc_methods)
    map: Mapper
    # rows from the node's trace API (BLOCKANALYTIX_TRACES): fetched only when selected, skipped where there is none
    needs_traces: bool = False


def _blocks(r: RangeResponses, _: Mapping[str, pa.Table]) -> pa.Table:
    return map_blocks(r.blocks)


def _transactions(r: RangeResponses, _: Mapping[str, pa.Table]) -> pa.Table:
    return map_transactions(r.blocks, r.receipts)


def _logs(r: RangeResponses, _: Mapping[str, pa.Table]) -> pa.Table:
    return map_logs(r.receipts, r.blocks)


def _token_transfers(_: RangeResponses, mapped: Mapping[str, pa.Table]) -> pa.Table:
    return map_token_transfers(mapped[tn.RAW_LOGS])


def _traces(r: RangeResponses, _: Mapping[str, pa.Table]) -> pa.Table:
    if r.traces is None or r.trace_api is None:
        raise ValueError("raw_traces needs the range's traces: set RpcClient.trace_api before fetching")
    return map_traces(r.trace_api, r.traces, r.blocks)


def _internal_transfers(r: RangeResponses, mapped: Mapping[str, pa.Table]) -> pa.Table:
    traces = mapped[tn.RAW_TRACES] if tn.RAW_TRACES in mapped else _traces(r, mapped)  # selected without raw_traces
    return map_internal_transfers(traces, mapped.get(tn.RAW_BLOCKS))


# Receipts come from eth_getBlockReceipts, or eth_getTransactionReceipt per transaction where a node lacks it.
RAW_TABLES: tuple[RawTable, ...] = (
    RawTable(
        tn.RAW_BLOCKS,
        schema.BLOCKS,
        "Blocks of the range (crypto_ethereum.blocks columns), withdrawals and blob gas included.",
        ("number", "hash", "timestamp", "transaction_count", "gas_used", "base_fee_per_gas"),
        ("eth_getBlockByNumber",),
        _blocks,
    ),
    RawTable(
        tn.RAW_TRANSACTIONS,
        schema.TRANSACTIONS,
        "Transactions with their receipt_* fields (crypto_ethereum.transactions columns).",
        ("hash", "block_number", "from_address", "to_address", "value", "receipt_status"),
        ("eth_getBlockByNumber", "eth_getBlockReceipts"),
        _transactions,
    ),
    RawTable(
        tn.RAW_LOGS,
        schema.LOGS,
        "Event logs of the range's receipts (crypto_ethereum.logs columns).",
        ("block_number", "log_index", "transaction_hash", "address", "topics"),
        ("eth_getBlockReceipts",),
        _logs,
    ),
    RawTable(
        tn.TOKEN_TRANSFERS,
        schema.TOKEN_TRANSFERS,
        "ERC-20 and ERC-721 Transfer events (token_standard); uint256 values exact as strings.",
        ("block_number", "token_address", "from_address", "to_address", "value", "token_standard"),
        ("eth_getBlockReceipts",),
        _token_transfers,
    ),
    RawTable(
        tn.RAW_TRACES,
        schema.TRACES,
        "Traces of the range (crypto_ethereum.traces columns, as ethereum-etl's export_traces): calls, creates, "
        "selfdestructs and rewards; status 0 where the trace or an ancestor failed. From trace_block, or "
        "debug_traceBlockByNumber with callTracer (BLOCKANALYTIX_TRACES).",
        ("transaction_hash", "trace_address", "trace_type", "from_address", "to_address", "value", "status"),
        tuple(TRACE_METHODS.values()),
        _traces,
        needs_traces=True,
    ),
    RawTable(
        tn.INTERNAL_TRANSFERS,
        schema.INTERNAL_TRANSFERS,
        "Ether moved below the top level of a transaction (from raw_traces): successful calls, creates with value "
        "and selfdestruct refunds, value > 0, no delegatecall/callcode/staticcall; exact wei and value_eth.",
        ("block_number", "transaction_hash", "trace_address", "trace_type", "from_address", "to_address", "value_eth"),
        tuple(TRACE_METHODS.values()),
        _internal_transfers,
        needs_traces=True,
    ),
)
# The tables every range has; a needs_traces table exists only where the node serves traces.
RAW_ASSETS: tuple[str, ...] = tuple(t.name for t in RAW_TABLES if not t.needs_traces)
TRACE_ASSETS: tuple[str, ...] = tuple(t.name for t in RAW_TABLES if t.needs_traces)
SCHEMAS: dict[str, pa.Schema] = {t.name: t.schema for t in RAW_TABLES}


def map_all(responses: RangeResponses, tables: tuple[RawTable, ...] = RAW_TABLES) -> dict[str, pa.Table]:
    """Every table's rows from one span's answers, mapped in registry order (a table may use earlier ones).

    needs_traces tables are mapped only from answers that include traces."""
    mapped: dict[str, pa.Table] = {}
    for t in tables:
        if t.needs_traces and responses.traces is None:
            continue
        table = t.map(responses, mapped)
        if not table.schema.equals(t.schema):
            raise TypeError(f"the mapper of {t.name} returned columns {table.schema.names}, not its schema's")
        mapped[t.name] = table
    return mapped
