"""The JSON-RPC calls (method, params) that fetch blocks and receipts, built in one place."""

from __future__ import annotations

from collections.abc import Sequence

Call = tuple[str, list]


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
