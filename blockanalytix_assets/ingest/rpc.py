"""Ethereum JSON-RPC client: chain id, head, blocks and receipts over the batched, retrying provider.

The pieces live in rpc_requests.py (calls), batch_provider.py (HTTP, batches, retries), rpc_errors.py
(exceptions) and redact.py (secrets); import their names from there.
"""

from __future__ import annotations

import logging

from blockanalytix_assets.ingest.batch_provider import BatchHttpProvider
from blockanalytix_assets.ingest.redact import RPC_LOGGER, scrub
from blockanalytix_assets.ingest.rpc_errors import (
    BlockNotFoundError,
    ChainIdMismatch,
    MethodNotFound,
    RpcError,
    StateUnavailable,
    TracerError,
)
from blockanalytix_assets.ingest.rpc_requests import (
    Call,
    RangeResponses,
    block_calls,
    block_receipts_calls,
    eth_call_calls,
    range_calls,
    trace_calls,
    tx_receipt_calls,
)

log = logging.getLogger(RPC_LOGGER)


class RpcClient(BatchHttpProvider):
    """A JSON-RPC client: batches, a bounded thread pool, retries with backoff, split-on-failure."""

    block_receipts_supported: bool | None = None  # learnt on first use, remembered per client
    trace_api: str | None = None  # "parity" or "geth": fetch_range then fetches each block's traces too
    calls_at_latest: int = 0  # eth_call batches asked at the head because the node had no state at their block

    def chain_id(self) -> int:
        """The node's chain id."""
        return int(self.call("eth_chainId"), 16)

    def check_chain_id(self, expected: int) -> int:
        """Raise ChainIdMismatch unless the node serves chain `expected`; returns the chain id."""
        actual = self.chain_id()
        if actual != expected:
            raise ChainIdMismatch(
                f"The node at {self.safe_url} serves chain id {actual}, but BLOCKANALYTIX_CHAIN_ID is "
                f"{expected}. Set BLOCKANALYTIX_CHAIN_ID={actual} if this is the chain you want, or fix "
                f"BLOCKANALYTIX_RPC_URL to point at a node of chain {expected}."
            )
        return actual

    def block_number(self) -> int:
        """The node's head block number."""
        return int(self.call("eth_blockNumber"), 16)

    def _check_blocks(self, numbers: list[int], blocks: list) -> list[dict]:
        for n, b in zip(numbers, blocks, strict=True):
            if b is None:
                try:
                    head = f"its head is {self.block_number()}"
                except RpcError:
                    head = "its head is unknown"
                raise BlockNotFoundError(
                    f"block {n} is beyond the head of the node at {self.safe_url} ({head}): ingest only "
                    f"ranges at or below the head minus BLOCKANALYTIX_CONFIRMATIONS"
                )
        return blocks

    def get_blocks(self, numbers: list[int], full: bool = True) -> list[dict]:
        """Blocks by number (with full transaction objects when full), in the order of numbers."""
        return self._check_blocks(numbers, self.batch(block_calls(numbers, full)))

    def _tx_receipts(self, numbers: list[int], blocks: list[dict]) -> dict[int, list[dict]]:
        hashes = [[t if isinstance(t, str) else t["hash"] for t in b["transactions"]] for b in blocks]
        flat = self.batch(tx_receipt_calls([h for hs in hashes for h in hs]))
        out, pos = {}, 0
        for n, hs in zip(numbers, hashes, strict=True):
            out[n], pos = flat[pos : pos + len(hs)], pos + len(hs)
            if any(r is None for r in out[n]):
                raise RpcError(f"the node at {self.safe_url} has no receipt for a transaction of block {n}")
        return out

    def _with_block_receipts(self, calls: list[Call]) -> list | None:
        """The batch's answers, or None where the node lacks eth_getBlockReceipts (learnt once, then skipped)."""
        if self.block_receipts_supported is False:
            return None
        try:
            res = self.batch(calls)
        except MethodNotFound as exc:
            if "eth_getBlockReceipts" not in str(exc):  # another method of the batch (a trace API) is missing
                raise
            self.block_receipts_supported = False
            log.info("rpc %s lacks eth_getBlockReceipts: using eth_getTransactionReceipt", self.safe_url)
            return None
        self.block_receipts_supported = True
        return res

    def get_receipts(self, numbers: list[int], blocks: list[dict] | None = None) -> dict[int, list[dict]]:
        """{number: receipts} via eth_getBlockReceipts, or per-tx receipts where the node lacks it."""
        res = self._with_block_receipts(block_receipts_calls(numbers))
        if res is None:
            return self._tx_receipts(numbers, blocks if blocks is not None else self.get_blocks(numbers, False))
        for n, r in zip(numbers, res, strict=True):
            if r is None:
                raise BlockNotFoundError(f"the node at {self.safe_url} has no receipts for block {n}")
        return dict(zip(numbers, res, strict=True))

    def eth_calls(self, calls: list[tuple[str, str]], block: int) -> dict[tuple[str, str], str | None]:
        """{(to, data): result hex} of each distinct eth_call at block, batched; None where the call reverted."""
        distinct = list(dict.fromkeys(calls))
        try:
            answers = self.batch(eth_call_calls(distinct, block), reverts_ok=True)
        except StateUnavailable as exc:
            # A pruned node keeps recent state only: ask at its head (as ethereum-etl always does). Decimals and
            # names rarely change; total_supply does, so such a range is byte-identical only on an archive node.
            log.warning("rpc %s: no state at block %d (%s); eth_calls at the latest block", self.safe_url, block, exc)
            self.calls_at_latest += 1
            answers = self.batch(eth_call_calls(distinct, "latest"), reverts_ok=True)
        return dict(zip(distinct, answers, strict=True))

    def probe_traces(self, mode: str, block: int) -> str | None:
        """The trace API for BLOCKANALYTIX_TRACES=mode; auto asks the node once, at block. None: no traces."""
        if mode not in ("auto", "parity", "geth", "off"):
            raise ValueError(f"BLOCKANALYTIX_TRACES={mode!r}: expected auto, parity, geth or off")
        if mode != "auto":
            return None if mode == "off" else mode
        for api in ("parity", "geth"):
            try:
                self.batch(trace_calls([max(block, 1)], api))  # geth cannot trace the genesis block
            except MethodNotFound:
                continue
            except RpcError:
                pass  # the method exists; a fetch that fails the same way says why
            log.info("rpc %s: traces from %s", self.safe_url, api)
            return api
        return None

    def _traces(self, numbers: list[int], results: list) -> dict[int, list[dict]] | None:
        """{number: answer}; geth's genesis (no transactions, and not traceable) is answered empty."""
        if self.trace_api is None:
            return None
        traces: dict[int, list[dict]] = {0: []} if 0 in numbers and self.trace_api == "geth" else {}
        traces.update(zip(self._traced(numbers), results, strict=True))
        return traces

    def _retry_tracer_errors(self, blocks: list[dict], traces: dict[int, list[dict]]) -> None:
        """Ask geth again (with backoff) for blocks where callTracer failed for a transaction, as for a transient
        error; raise TracerError naming the block and transaction when it keeps failing."""
        for failures in range(1, self.max_retries + 2):
            failed = {n: f for n, answer in traces.items() if (f := _tracer_failure(answer)) is not None}
            if not failed:
                return
            if failures > self.max_retries:
                n, (i, error) = next(iter(failed.items()))
                txs = next(b for b in blocks if int(b["number"], 16) == n).get("transactions") or []
                tx = (txs[i] if isinstance(txs[i], str) else txs[i].get("hash")) if i < len(txs) else "?"
                raise TracerError(
                    f"debug_traceBlockByNumber for block {n} at {self.safe_url}: callTracer failed for transaction "
                    f"{tx} (index {i}) on {failures} attempts: {error}. "
                    f"The node cannot trace it: give geth's tracer more time (a timeout) or fewer concurrent "
                    f"requests, use an archive node (missing state), or set BLOCKANALYTIX_TRACES=parity for a node "
                    f"with trace_block, or off to ingest without raw_traces."
                )
            self._count("fault_tracer_error", len(failed))
            self._count("retries")
            log.warning("rpc %s: callTracer failed in blocks %s; retry %d/%d", self.safe_url, sorted(failed),
                        failures, self.max_retries)  # fmt: skip
            self._sleep(failures, 0.0)
            numbers = sorted(failed)
            traces.update(zip(numbers, self.batch(trace_calls(numbers, "geth")), strict=True))

    def _traced(self, numbers: list[int]) -> list[int]:
        return [n for n in numbers if n or self.trace_api != "geth"]

    def fetch_range(self, first: int, last: int) -> RangeResponses:
        """Blocks first..last with full transactions, their receipts and (with trace_api) traces, in one batch."""
        numbers, api = list(range(first, last + 1)), self.trace_api
        tcalls = trace_calls(self._traced(numbers), api) if api else []
        res = self._with_block_receipts(range_calls(numbers) + tcalls)
        if res is not None:
            k = 2 * len(numbers)
            blocks = self._check_blocks(numbers, res[0:k:2])
            receipts = dict(zip(numbers, res[1:k:2], strict=True))
            if any(r is None for r in receipts.values()):
                receipts = self.get_receipts(numbers, blocks)
            traces = self._traces(numbers, res[k:])
        else:
            blocks = self.get_blocks(numbers)
            traces = self._traces(numbers, self.batch(tcalls)) if api else None
            receipts = self.get_receipts(numbers, blocks)
        if api == "geth" and traces is not None:
            self._retry_tracer_errors(blocks, traces)
        return RangeResponses(blocks, receipts, traces, api)


def _tracer_failure(answer: object) -> tuple[int, str] | None:
    """(transaction index, error) of the first transaction geth's tracer failed for in a block's answer, if any."""
    for i, entry in enumerate(answer if isinstance(answer, list) else ()):
        if isinstance(entry, dict) and (entry.get("error") is not None or entry.get("result") is None):
            return i, scrub(str(entry.get("error")))[:300]
    return None
