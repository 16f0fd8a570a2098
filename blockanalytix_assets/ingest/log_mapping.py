"""raw_logs from RPC receipts, and token_transfers decoded from raw_logs (ethereum-etl's rule)."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets.ingest.mapping_common import (
    ERRORS,
    MalformedResponseError,
    Receipts,
    columns,
    diagnose,
    required_keys,
    to_table,
)
from blockanalytix_assets.ingest.schema import ERC20, ERC721, LOGS, TRANSFER_EVENTS

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
LOG_COLS = {"log_index": ("int", "logIndex"), "address": ("req", "address"), "data": ("req", "data"),
            "topics": ("req", "topics")}  # fmt: skip
ORDER = [("block_number", "ascending"), ("log_index", "ascending")]


def map_logs(receipts: Receipts, blocks: Sequence[dict] | None = None) -> pa.Table:
    """raw_logs rows of all receipts in block then log order (block hash taken from blocks when given)."""
    hashes = {int(b["number"], 16): b["hash"] for b in blocks} if blocks is not None else {}
    logs: list[dict] = []
    cols: dict[str, list] = {c: [] for c in ("transaction_hash", "transaction_index", "block_hash")}
    cols["block_number"] = []
    for bn in sorted(receipts):
        for r in receipts[bn]:
            try:
                rl = r["logs"]
                if not rl:
                    continue
                n = len(rl)
                cols["transaction_hash"] += [r["transactionHash"]] * n
                cols["transaction_index"] += [int(r["transactionIndex"], 16)] * n
                cols["block_hash"] += [hashes.get(bn) or r["blockHash"]] * n
            except ERRORS as exc:
                required = ("logs", "transactionHash", "transactionIndex", "blockHash")
                raise diagnose([(f"block {bn}", "receipt", r, required)], exc) from None
            cols["block_number"] += [bn] * n
            logs += rl
    try:
        cols |= columns(logs, LOG_COLS)
    except ERRORS as exc:
        where = zip(cols["block_number"], cols["transaction_hash"], strict=True)
        records = [
            (f"block {bn} tx {h}", "log", lg, required_keys(LOG_COLS)) for (bn, h), lg in zip(where, logs, strict=True)
        ]
        raise diagnose(records, exc) from None
    return to_table(LOGS, cols)


def _transfers_slow(cand: pa.Table) -> pa.Table:
    """Transfers whose parameters are not laid out as 3 topics + 1 data word (e.g. unindexed from/to)."""
    rows = []
    names = ("address", "topics", "data", "transaction_hash", "log_index", "block_number")
    for address, topics, data, txh, li, bn in zip(*(cand.column(c).to_pylist() for c in names), strict=True):
        hexdata = (data or "0x")[2:]
        words = topics + [hexdata[i : i + 64] for i in range(0, len(hexdata), 64)]
        try:
            value = str(int(words[3], 16))
            rows.append((address, "0x" + words[1][-40:], "0x" + words[2][-40:], value, txh, li, bn, ERC20))
        except ValueError:
            continue
    cols = dict(zip(TRANSFER_EVENTS.names, zip(*rows, strict=True), strict=True)) if rows else {}
    return to_table(TRANSFER_EVENTS, {n: cols.get(n, []) for n in TRANSFER_EVENTS.names})


def _decimals(hexes: list[str], what: str) -> pa.Array:
    """Hex words as exact decimal strings."""
    try:
        return pa.array([str(int(h, 16)) for h in hexes], pa.string())
    except (ValueError, TypeError) as exc:
        raise MalformedResponseError(f"token transfer {what} is not hex ({exc})") from None


def _indexed(part: pa.Table, values: pa.Array, standard: str) -> pa.Table:
    """Transfers with from and to in topics 1 and 2 (the ERC-20 and ERC-721 layouts), values given."""
    topics = part.column("topics")

    def topic_address(k: int) -> pa.ChunkedArray:
        return pc.binary_join_element_wise("0x", pc.utf8_slice_codeunits(pc.list_element(topics, k), 26), "")

    table = pa.table(
        [part.column("address"), topic_address(1), topic_address(2), values]
        + [part.column(c) for c in ("transaction_hash", "log_index", "block_number")]
        + [pa.repeat(pa.scalar(standard, pa.string()), part.num_rows)],
        schema=TRANSFER_EVENTS,
    )
    table = table.set_column(1, "from_address", pc.ascii_lower(table.column(1)))
    return table.set_column(2, "to_address", pc.ascii_lower(table.column(2)))


def map_token_transfers(logs: pa.Table) -> pa.Table:
    """ERC-20 and ERC-721 Transfer events of a raw_logs table (ethereum-etl's rule: topics + data words == 4)."""
    topic0 = pc.binary_join(pc.list_slice(logs.column("topics"), 0, 1), "")
    cand = logs.filter(pc.equal(topic0, TRANSFER_TOPIC))
    n_topics = pc.list_value_length(cand.column("topics"))
    data_len = pc.utf8_length(pc.fill_null(cand.column("data"), "0x"))
    n_words = pc.add(n_topics, pc.divide(pc.add(data_len, 61), 64))  # topics + ceil((len - 2) / 64)
    fast = cand.filter(pc.and_(pc.equal(n_topics, 3), pc.equal(data_len, 66)))
    table = _indexed(fast, _decimals(fast.column("data").to_pylist(), "data"), ERC20)
    # ERC-721 (4 topics: from, to, tokenId; no data): value is the token id, as in ethereum-etl's export.
    nft = cand.filter(pc.and_(pc.equal(n_topics, 4), pc.equal(n_words, 4)))
    # Unindexed layouts (1 or 2 topics + data words) cannot be told apart from the log: reported as ERC-20.
    slow = _transfers_slow(cand.filter(pc.and_(pc.equal(n_words, 4), pc.less(n_topics, 3))))
    parts = [table]
    if nft.num_rows:
        ids = _decimals(pc.list_element(nft.column("topics"), 3).to_pylist(), "token id")
        parts.append(_indexed(nft, ids, ERC721))
    if slow.num_rows:
        parts.append(slow)
    if len(parts) > 1:
        table = pa.concat_tables(parts).sort_by(ORDER)
    return table.combine_chunks()
