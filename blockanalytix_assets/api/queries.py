"""Read-only queries over the Parquet tables: DuckDB over the few files the catalog says hold the answer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs

from blockanalytix_assets.api.catalog import RANGE_ASSETS, Catalog, Snapshot
from blockanalytix_assets.api.engine import DEFAULT_MEMORY_LIMIT, Engine, sql_list
from blockanalytix_assets.api.points import PointReader
from blockanalytix_assets.api.rows import (
    TX_COLUMNS,
    anomaly_row,
    decode_cursor,
    encode_cursor,
    transaction_row,
)
from blockanalytix_assets.index.shards import parts_for_key
from blockanalytix_assets.storage import Storage

ANOMALY_PAGE_SQL = """
SELECT * FROM read_parquet({paths}) WHERE anomaly_score >= ?
ORDER BY rank, anomaly_score DESC, hash LIMIT ? OFFSET ?
"""
ANOMALY_TOTAL_SQL = """
SELECT count(*) FILTER (WHERE anomaly_score >= ?) AS total,
       first(threshold) FILTER (WHERE threshold IS NOT NULL) AS threshold
FROM read_parquet({paths})
"""


def missing_file(exc: Exception) -> bool:
    """Whether a DuckDB error says a file is gone (removed after the catalog listed it)."""
    return isinstance(exc, duckdb.IOException) and "No files found" in str(exc)


def hash_prefix_of(tx_hash: str) -> int:
    """The transaction index's sort key of one hash (the tree module's own function when present)."""
    from blockanalytix_assets.index.trees import hash_prefix

    return int(hash_prefix(pa.array([tx_hash]))[0])


RANGES_WAIT_S = 120.0


class Queries:
    """The API's questions, answered from the tables under one storage root."""

    def __init__(self, storage_root: str, memory_limit: str = DEFAULT_MEMORY_LIMIT, refresh_s: float | None = 15.0,
                 cache_folder: str | Path | None = None):  # fmt: skip
        self.storage = Storage(storage_root)
        self.engine = Engine(memory_limit=memory_limit, s3=self.storage.is_s3)
        self.catalog = Catalog(self.storage, self.engine, cache_folder)
        self.points = PointReader(self.storage)  # footers of sorted files, for point reads
        self.pool = ThreadPoolExecutor(8, thread_name_prefix="lookup")  # an address's point reads
        self.query_pool = ThreadPoolExecutor(8, thread_name_prefix="query")  # and its queries beside them
        if refresh_s:
            self.catalog.start(refresh_s)
        else:
            self.catalog.refresh()

    @property
    def snap(self) -> Snapshot:
        return self.catalog.snapshot

    def close(self) -> None:
        self.catalog.stop()
        self.pool.shutdown(wait=False)
        self.query_pool.shutdown(wait=False)
        self.engine.close()

    def health(self) -> dict:
        """Counts from the in-memory catalog only (never storage)."""
        snap = self.snap
        return {"status": "ok", "ranges": len(snap.ranges), "scored_ranges": len(snap.files.get("anomaly_scores", {}))}

    def ready(self) -> None:
        """One listing of the storage root; raises when storage is unreachable."""
        fs, base = self.storage._fs()
        fs.get_file_info(pafs.FileSelector(base, allow_not_found=True, recursive=False))

    def ranges(self, limit: int, cursor: str | None) -> dict:
        """A page of ranges after `cursor` (a key), in key order, with next_cursor when more follow."""
        self.catalog.complete.wait(RANGES_WAIT_S)  # right after start the summaries are still being read
        rows = self.snap.ranges
        start = 0
        if cursor is not None:
            start = next((i for i, r in enumerate(rows) if r["key"] > cursor), len(rows))
        page = rows[start : start + limit]
        more = start + limit < len(rows)
        return {"ranges": page, "next_cursor": page[-1]["key"] if more and page else None}

    def known_range(self, key: str) -> bool:
        return key in self.snap.range_keys() or any(self._has(a, key) for a in RANGE_ASSETS)

    def _has(self, asset: str, key: str) -> bool:
        return self.snap.has(asset, key) or self.catalog.refresh_if_stored(asset, key).has(asset, key)

    def anomalies(self, key: str, limit: int, min_score: float | None, cursor: str | None = None) -> dict | None:
        """A page of the range's scored transactions by rank (optionally above min_score); None unscored."""
        offset = decode_cursor(cursor, 1)[0] if cursor else 0
        if not self._has("anomaly_scores", key):
            return None
        paths = sql_list([self.storage.path("anomaly_scores", key)])
        floor = float("-inf") if min_score is None else min_score
        try:
            head = self.engine.rows(ANOMALY_TOTAL_SQL.format(paths=paths), [floor])[0]
            rows = self.engine.rows(ANOMALY_PAGE_SQL.format(paths=paths), [floor, limit, offset])
        except duckdb.Error as exc:
            if missing_file(exc):
                return None
            raise
        end = offset + len(rows)
        return {
            "key": key,
            "threshold": head["threshold"],
            "total": head["total"],
            "anomalies": [anomaly_row(r) for r in rows],
            "next_cursor": encode_cursor(end) if end < head["total"] else None,
        }

    def transaction(self, tx_hash: str) -> dict | None:
        """A transaction (cleaned columns) with its anomaly score: the hash index names the candidate ranges."""
        snap = self.snap
        found = self._transaction(snap, tx_hash)
        if found is None:
            fresh = self.catalog.refresh_on_miss()
            if fresh is not snap:
                found = self._transaction(fresh, tx_hash)
        return found

    def _transaction(self, snap: Snapshot, tx_hash: str) -> dict | None:
        cover = snap.covers.get("transaction_index", [])
        prefix = hash_prefix_of(tx_hash) if any(p.level > 0 for p in cover) else 0
        nodes = [p.path for p in parts_for_key(cover, prefix) if p.level > 0]  # one shard per node
        leaves = {p.path: p.first_key for p in cover if p.level == 0}
        keys: list[str] = []
        if nodes:
            sql = f"SELECT DISTINCT range_index FROM read_parquet({sql_list(nodes)}) WHERE hash_prefix = ?"
            hits = self.engine.rows(sql, [prefix])
            by_index = snap.by_index.get("cleaned_transactions", {})
            keys = [by_index[r["range_index"]] for r in hits if r["range_index"] in by_index]
        if leaves:
            sql = f"SELECT filename FROM read_parquet({sql_list(list(leaves))}, filename = true) WHERE hash = ?"
            keys += [leaves[r["filename"]] for r in self.engine.rows(sql, [tx_hash]) if r["filename"] in leaves]
        for key in sorted(set(keys), reverse=True):
            path = sql_list([self.storage.path("cleaned_transactions", key)])
            present = snap.footers.get(("cleaned_transactions", key), {}).get("columns")
            cols = ", ".join(f'"{c}"' for c in TX_COLUMNS if c in present) if present else "*"
            rows = self.engine.rows(f"SELECT {cols} FROM read_parquet({path}) WHERE hash = ?", [tx_hash])
            if rows:
                return transaction_row(rows[0], key, self.score(snap, key, tx_hash))
        return None

    def score(self, snap: Snapshot, key: str, tx_hash: str) -> dict | None:
        """The anomaly_scores row of one transaction of a range, None when unscored."""
        if not snap.has("anomaly_scores", key):
            return None
        path = sql_list([self.storage.path("anomaly_scores", key)])
        rows = self.engine.rows(f"SELECT * FROM read_parquet({path}) WHERE hash = ? LIMIT 1", [tx_hash])
        return anomaly_row(rows[0]) if rows else None

    def address(self, address: str, limit: int = 20, cursor: str | None = None) -> dict | None:
        """Profile, risk score, labels, transactions (paged) and recent anomalous transactions of an address."""
        from blockanalytix_assets.api.addresses import AddressLookup

        position = decode_cursor(cursor, 2) if cursor else None
        lookup = AddressLookup(self.storage, self.engine, self.snap, self.points, self.pool, self.query_pool)
        return lookup.answer(address, limit, position)
