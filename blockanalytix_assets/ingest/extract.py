"""Fetch a block range over JSON-RPC and map it to the raw tables of the registry, verifying completeness."""

from __future__ import annotations

import gc
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import pyarrow as pa

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.ingest.rpc_requests import RangeResponses
from blockanalytix_assets.ingest.tables import RAW_TABLES, RawTable, finish_all, map_all, planned_calls

REFETCHES = 2  # a range whose receipts and blocks disagree (a reorg mid-fetch) is fetched again this often


class IncompleteRangeError(RuntimeError):
    """The node's answer for a range misses or repeats blocks, or lacks receipts."""


class BlockSource(Protocol):
    """What extract_range needs from an RPC client."""

    batch_size: int
    max_workers: int

    def fetch_range(self, first: int, last: int) -> RangeResponses: ...

    def eth_calls(self, calls: list[tuple[str, str]], block: int) -> dict[tuple[str, str], str | None]: ...


def verify_chunk(first: int, last: int, responses: RangeResponses) -> None:
    """Raise IncompleteRangeError unless blocks are exactly first..last, each with all its receipts."""
    blocks, receipts = responses.blocks, responses.receipts
    numbers = [int(b["number"], 16) if isinstance(b, dict) and b.get("number") else None for b in blocks]
    expected = list(range(first, last + 1))
    if numbers != expected:
        got = [n for n in numbers if n is not None]
        missing = sorted(set(expected) - set(got))[:10]
        dups = sorted({n for n in got if got.count(n) > 1})[:10]
        raise IncompleteRangeError(
            f"blocks {first}..{last}: the node returned {len(blocks)} blocks; missing {missing}, "
            f"duplicated {dups}, "
            f"unexpected {sorted(set(got) - set(expected))[:10]}"
        )
    for b, n in zip(blocks, expected, strict=True):
        recs = receipts.get(n)
        hashes = [t["hash"] if isinstance(t, dict) else t for t in b.get("transactions") or []]
        if recs is None or [r.get("transactionHash") for r in recs] != hashes:
            have = 0 if recs is None else len(recs)
            raise IncompleteRangeError(f"block {n}: {len(hashes)} transactions but {have} matching receipts")
        if any(r.get("blockHash", b["hash"]) != b["hash"] for r in recs):
            raise IncompleteRangeError(f"block {n}: receipts are from another block hash (a reorg while fetching)")
        if responses.traces is not None and responses.traces.get(n) is None:
            raise IncompleteRangeError(
                f"block {n}: the node returned no traces (is it fully synced, with its trace API enabled?)"
            )


def _fetch(client: BlockSource, first: int, last: int) -> RangeResponses:
    for attempt in range(REFETCHES + 1):
        responses = client.fetch_range(first, last)
        try:
            verify_chunk(first, last, responses)
            return responses
        except IncompleteRangeError:
            if attempt == REFETCHES:
                raise
    raise AssertionError("unreachable")


def _run(
    client: BlockSource, spans: list[tuple[int, int]], tables: tuple[RawTable, ...], parts: dict[str, list[pa.Table]]
) -> None:
    """Map spans in order while up to max_workers later spans are being fetched."""
    window = max(1, client.max_workers)
    with ThreadPoolExecutor(window, thread_name_prefix="prefetch") as pool:
        futures = [pool.submit(_fetch, client, *span) for span in spans[:window]]
        for i in range(len(spans)):
            responses = futures[i].result()
            futures[i] = None  # type: ignore[call-overload]  # drop the JSON once mapped
            if i + window < len(spans):
                futures.append(pool.submit(_fetch, client, *spans[i + window]))
            for name, table in map_all(responses, tables).items():
                parts[name].append(table)
            del responses


def extract_range(
    client: BlockSource,
    first: int,
    last: int,
    chunk_size: int | None = None,
    tables: tuple[RawTable, ...] = RAW_TABLES,
) -> dict[str, pa.Table]:
    """The raw tables (the registry's, by default) of blocks first..last, by name.

    Fetches chunks of batch_size / 2 blocks (a block and its receipts are two calls, three with traces: one
    batch per chunk), max_workers chunks ahead of the one being mapped; memory holds the range's tables plus
    about max_workers + 1 chunks of JSON, whatever the range size.
    """
    if last < first:
        raise ValueError(f"empty block range {first}..{last}")
    per_block = 3 if getattr(client, "trace_api", None) else 2  # block, receipts (, traces): one batch per chunk
    size = chunk_size or max(1, client.batch_size // per_block)
    spans = [(a, min(a + size - 1, last)) for a in range(first, last + 1, size)]
    if per_block == 2:  # no traces fetched: no trace tables
        tables = tuple(t for t in tables if not t.needs_traces)
    parts: dict[str, list[pa.Table]] = {t.name: [] for t in tables}
    # The JSON holds millions of acyclic dicts; the cyclic GC rescanning them costs ~30% of the CPU.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        _run(client, spans, tables, parts)
    finally:
        if gc_was_enabled:
            gc.enable()
    out = {name: pa.concat_tables(ts).combine_chunks() for name, ts in parts.items()}
    calls = planned_calls(out, tables)
    # pinned to the range's last block: re-materialising the range asks the same questions, gets the same bytes
    out = finish_all(out, client.eth_calls(calls, last) if calls else {}, tables)
    _verify_tables(first, last, out)
    return out


def _verify_tables(first: int, last: int, out: dict[str, pa.Table]) -> None:
    """Raise IncompleteRangeError unless the mapped blocks are the range, with every transaction and receipt."""
    blocks, txs = out.get(tn.RAW_BLOCKS), out.get(tn.RAW_TRANSACTIONS)
    if blocks is not None and blocks.column("number").to_pylist() != list(range(first, last + 1)):
        raise IncompleteRangeError(f"blocks {first}..{last}: the mapped blocks are not exactly the range")
    if blocks is None or txs is None:
        return
    n_tx = sum(blocks.column("transaction_count").to_pylist())
    if n_tx != txs.num_rows or txs.column("receipt_gas_used").null_count:
        raise IncompleteRangeError(f"blocks {first}..{last}: transactions or their receipts are missing")
