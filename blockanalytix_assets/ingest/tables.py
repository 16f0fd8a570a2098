"""The raw tables, one RawTable entry each in RAW_TABLES: the raw_ingest asset, its jobs and extract follow it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import pyarrow as pa

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.ingest import schema
from blockanalytix_assets.ingest.block_mapping import map_blocks, map_transactions
from blockanalytix_assets.ingest.contract_mapping import map_contracts
from blockanalytix_assets.ingest.internal_mapping import map_internal_transfers
from blockanalytix_assets.ingest.log_mapping import map_logs, map_token_transfers
from blockanalytix_assets.ingest.rpc_requests import TRACE_METHODS, RangeResponses
from blockanalytix_assets.ingest.token_mapping import (
    EthCalls,
    decimals_calls,
    map_tokens,
    token_calls,
    token_candidates,
    unknown_decimals,
    with_decimals,
)
from blockanalytix_assets.ingest.trace_mapping import map_traces

# (the span's RPC answers, the tables mapped before it in the registry) -> its rows, with exactly its schema
Mapper = Callable[[RangeResponses, Mapping[str, pa.Table]], pa.Table]
# a table that needs eth_calls: from its span rows (concatenated over the range) the calls, then its final rows
CallPlan = Callable[[pa.Table], Iterable[tuple[str, str]]]
Finisher = Callable[[pa.Table, EthCalls], pa.Table]


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
    # eth_calls (to, data) at the range's last block, planned from the range's span rows, answered in one batch
    calls: CallPlan | None = None
    finish: Finisher | None = None  # span rows + the answers -> the table's rows (with calls)
    # counts of the table's rows shown in the materialisation's metadata (summed over the run's ranges)
    figures: Callable[[pa.Table], dict[str, int]] | None = None


def _blocks(r: RangeResponses, _: Mapping[str, pa.Table]) -> pa.Table:
    return map_blocks(r.blocks)


def _transactions(r: RangeResponses, _: Mapping[str, pa.Table]) -> pa.Table:
    return map_transactions(r.blocks, r.receipts)


def _logs(r: RangeResponses, _: Mapping[str, pa.Table]) -> pa.Table:
    return map_logs(r.receipts, r.blocks)


def _token_transfers(_: RangeResponses, mapped: Mapping[str, pa.Table]) -> pa.Table:
    return map_token_transfers(mapped[tn.RAW_LOGS])  # the events; decimals and scaled_value come with finish


def _transfer_decimals_calls(events: pa.Table) -> list[tuple[str, str]]:
    return decimals_calls(events.column("token_address").to_pylist())


def _contracts(_: RangeResponses, mapped: Mapping[str, pa.Table]) -> pa.Table:
    return map_contracts(mapped[tn.RAW_TRACES])


def _token_contracts(_: RangeResponses, mapped: Mapping[str, pa.Table]) -> pa.Table:
    return token_candidates(mapped[tn.CONTRACTS])  # the contracts rows; finish makes them tokens


def _token_calls(candidates: pa.Table) -> list[tuple[str, str]]:
    return token_calls(candidates.column("address").to_pylist())


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
        ("eth_getBlockReceipts", "eth_call"),
        _token_transfers,
        calls=_transfer_decimals_calls,
        finish=with_decimals,
        figures=lambda t: {"unknown_decimals_transfers": unknown_decimals(t)},
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
    RawTable(
        tn.CONTRACTS,
        schema.CONTRACTS,
        "Contracts created in the range (crypto_ethereum.contracts, as ethereum-etl's extract_contracts): successful "
        "create traces, bytecode, the first basic block's PUSH4 sighashes, ERC-20 / ERC-721 by those sighashes.",
        ("address", "block_number", "is_erc20", "is_erc721"),
        tuple(TRACE_METHODS.values()),
        _contracts,
        needs_traces=True,
    ),
    RawTable(
        tn.TOKENS,
        schema.TOKENS,
        "ERC-20 and ERC-721 contracts created in the range (crypto_ethereum.tokens, as ethereum-etl's extract_tokens):"
        " symbol, name, decimals, total_supply from batched eth_calls at the range's last block; null where a call "
        "reverts or does not decode.",
        ("address", "symbol", "name", "decimals", "total_supply"),
        (*TRACE_METHODS.values(), "eth_call"),
        _token_contracts,
        needs_traces=True,
        calls=_token_calls,
        finish=map_tokens,
    ),
)
# The tables every range has; a needs_traces table exists only where the node serves traces.
RAW_ASSETS: tuple[str, ...] = tuple(t.name for t in RAW_TABLES if not t.needs_traces)
TRACE_ASSETS: tuple[str, ...] = tuple(t.name for t in RAW_TABLES if t.needs_traces)
SCHEMAS: dict[str, pa.Schema] = {t.name: t.schema for t in RAW_TABLES}


def map_all(responses: RangeResponses, tables: tuple[RawTable, ...] = RAW_TABLES) -> dict[str, pa.Table]:
    """Every table's rows from one span's answers, mapped in registry order (a table may use earlier ones).

    needs_traces tables are mapped only from answers that include traces. A table with finish gets its span rows
    here and its final rows from finish_all."""
    mapped: dict[str, pa.Table] = {}
    for t in tables:
        if t.needs_traces and responses.traces is None:
            continue
        table = t.map(responses, mapped)
        if t.finish is None:
            _check(t, table)
        mapped[t.name] = table
    return mapped


def _check(t: RawTable, table: pa.Table) -> None:
    if not table.schema.equals(t.schema):
        raise TypeError(f"the mapper of {t.name} returned columns {table.schema.names}, not its schema's")


def planned_calls(mapped: Mapping[str, pa.Table], tables: tuple[RawTable, ...] = RAW_TABLES) -> list[tuple[str, str]]:
    """The distinct eth_calls (to, data) the range's tables with calls need, from their span rows."""
    calls = (c for t in tables if t.calls is not None and t.name in mapped for c in t.calls(mapped[t.name]))
    return list(dict.fromkeys(calls))


def finish_all(
    mapped: Mapping[str, pa.Table], answers: EthCalls, tables: tuple[RawTable, ...] = RAW_TABLES
) -> dict[str, pa.Table]:
    """The range's tables with each finish applied to its span rows and the eth_call answers."""
    out = dict(mapped)
    for t in tables:
        if t.finish is not None and t.name in out:
            out[t.name] = t.finish(out[t.name], answers)
            _check(t, out[t.name])
    return out
