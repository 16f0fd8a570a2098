"""The JSON-RPC calls (method, params) that fetch a block range, and the answers they give, in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Call = tuple[str, list]  # (method, params): one JSON-RPC call


@dataclass(frozen=True)
class RangeResponses:
    """The node's JSON answers for a span of blocks: what every raw table is mapped from.

    A raw table needing another RPC method adds its answers here, filled by RpcClient.fetch_range.
    """

    blocks: list[dict]  # eth_getBlockByNumber with full transactions, in block order
    receipts: dict[int, list[dict]]  # block number -> receipts (eth_getBlockReceipts or per transaction)
    traces: dict[int, list[dict]] | None = None  # block number -> its trace API's answer; None: not fetched
    trace_api: str | None = None  # "parity" (trace_block) or "geth" (debug_traceBlockByNumber, callTracer)


def block_calls(numbers: Sequence[int], full: bool = True) -> list[Call]:
    """eth_getBlockByNumber for each block number (full transaction objects when full)."""
    return [("eth_getBlockByNumber", [hex(n), full]) for n in numbers]


def block_receipts_calls(numbers: Sequence[int]) -> list[Call]:
    """eth_getBlockReceipts for each block number."""
    return [("eth_getBlockReceipts", [hex(n)]) for n in numbers]


def tx_receipt_calls(hashes: Sequence[str]) -> list[Call]:
    """eth_getTransactionReceipt for each transaction hash."""
    return [("eth_getTransactionReceipt", [h]) for h in hashes]


def range_calls(numbers: Sequence[int]) -> list[Call]:
    """Each block (full) followed by its block receipts: one batch fetches both."""
    calls: list[Call] = []
    for n in numbers:
        calls += [("eth_getBlockByNumber", [hex(n), True]), ("eth_getBlockReceipts", [hex(n)])]
    return calls


TRACE_METHODS = {"parity": "trace_block", "geth": "debug_traceBlockByNumber"}
CALL_TRACER = {"tracer": "callTracer"}


def trace_calls(numbers: Sequence[int], api: str) -> list[Call]:
    """trace_block (api "parity") or debug_traceBlockByNumber with callTracer (api "geth") for each block."""
    if api == "parity":
        return [("trace_block", [hex(n)]) for n in numbers]
    return [("debug_traceBlockByNumber", [hex(n), CALL_TRACER]) for n in numbers]


def eth_call_calls(calls: Sequence[tuple[str, str]], block: int | str) -> list[Call]:
    """eth_call of each (to, data) at block (a number, or a tag such as "latest")."""
    tag = hex(block) if isinstance(block, int) else block
    return [("eth_call", [{"to": to, "data": data}, tag]) for to, data in calls]
