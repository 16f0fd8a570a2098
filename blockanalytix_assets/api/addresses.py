"""GET /addresses/{address}: the lifetime profile from the run tree's cover, then only the ranges it names.

No lookup scans every range: the profile comes from the cover's few sorted files (row groups pruned by their
address min/max), and its `ranges`/`range_tx_counts` say which ranges hold the address's transactions, so a
page reads just enough of the newest ones. Risk and anomalous transactions look at the newest RECENT_RANGES
ranges where the address is active (the newest RECENT_RANGES stored ranges for an address without a profile).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from functools import partial
from typing import Any

import pyarrow as pa

from blockanalytix_assets.api.catalog import Snapshot
from blockanalytix_assets.api.engine import Engine, sql_list
from blockanalytix_assets.api.points import PointReader
from blockanalytix_assets.api.rows import (
    LABEL_FIELDS,
    RISK_COLUMNS,
    TX_COLUMNS,
    anomaly_row,
    clean,
    encode_cursor,
    pick,
    transaction_row,
)
from blockanalytix_assets.index.shards import parts_for_key
from blockanalytix_assets.index.spec import Part
from blockanalytix_assets.storage import Storage

RECENT_RANGES = 32
RECENT_BATCHES = (2, 6, 24)
ANOMALOUS_LIMIT = 20


def _source(paths: list[str], filename: bool = False) -> str:
    """read_parquet over the files: one file is read plainly (union_by_name and filename cost ~30% of its scan)."""
    if len(paths) == 1:
        return f"read_parquet({sql_list(paths)})"
    return f"read_parquet({sql_list(paths)}, union_by_name = true{', filename = true' if filename else ''})"


ANOMALOUS_SQL = """
SELECT * FROM {src} WHERE (from_address = $a OR to_address = $a) AND anomaly_score >= threshold
"""
SCORES_SQL = "SELECT * FROM {src} WHERE list_contains($hashes, hash)"
TX_SQL = """
SELECT {cols}{filename} FROM {src} WHERE (from_address = $a OR to_address = $a)
  AND (block_number < $b OR (block_number = $b AND transaction_index < $i))
ORDER BY block_number DESC, transaction_index DESC LIMIT $n
"""
NO_POSITION = (2**62, 2**62)


def _point(points: PointReader, tokens: dict[str, str], address: str, part: Part) -> pa.Table | None:
    from blockanalytix_assets.features.profiles import PROFILE_COLUMNS

    return points.lookup(part.path, tokens.get(part.path, ""), "address", address, PROFILE_COLUMNS)


def _merge_profile(rows: pa.Table) -> dict:
    """The API profile of the rows read (one per cover part, in range order)."""
    from blockanalytix_assets.features.profiles import PROFILE_COLUMNS, merge_activity, profile_records

    merged = merge_activity([rows], PROFILE_COLUMNS)  # one row per cover part: it merges them
    return {k: clean(v) for k, v in profile_records(merged)[0].items()}


def _active(parts: list[pa.Table | None]) -> list[tuple[int, int]]:
    """(range index, tx count) of the address in these cover parts (disjoint, in range order)."""
    out: list[tuple[int, int]] = []
    for t in parts:
        if t is not None and t.num_rows:
            for row in t.select(["ranges", "range_tx_counts"]).to_pylist():
                out += zip(row["ranges"] or [], row["range_tx_counts"] or [], strict=True)
    return sorted(out)


def _done(value: object) -> Future:
    f: Future = Future()
    f.set_result(value)
    return f


class AddressLookup:
    """One address's answer from one catalog snapshot."""

    def __init__(
        self,
        storage: Storage,
        engine: Engine,
        snap: Snapshot,
        points: PointReader,
        pool: Executor | None = None,
        query_pool: Executor | None = None,
    ):
        """pool runs the point reads; query_pool (default: pool) the queries, so they never queue behind reads."""
        self.storage, self.engine, self.snap, self.points = storage, engine, snap, points
        self.pool, self.query_pool = pool, query_pool or pool

    def _paths(self, asset: str, keys: list[str]) -> list[str]:
        return [self.storage.path(asset, k) for k in keys]

    def _submit(self, call: Callable[[], Any], pool: Executor | None = None) -> Future:
        pool = pool or self.pool
        return pool.submit(call) if pool is not None else _done(call())

    def answer(self, address: str, limit: int, position: tuple[int, ...] | None) -> dict | None:
        position = position or NO_POSITION
        labels = self._submit(partial(self.labels, address), self.query_pool)
        cover = parts_for_key(self.snap.covers.get("address_profiles", []), address)
        if not cover:
            profile, dependents = None, self._dependents(address, self._fallback_ranges(), limit, position)
        else:
            profile, dependents = self._pipelined(address, cover, limit, position)
        (txs, next_position), risk, anomalous = (f.result() for f in dependents)
        labels_found = labels.result()
        if profile is None and risk is None and not labels_found and not txs and not anomalous:
            return None
        return {
            "address": address,
            "risk": risk,
            "labels": labels_found,
            "anomalous_transactions": anomalous,
            "profile": profile,
            "transactions": txs,
            "next_cursor": encode_cursor(*next_position) if next_position else None,
        }

    def _dependents(
        self, address: str, active: list[tuple[int, int]], limit: int, position: tuple[int, ...]
    ) -> list[Future]:
        """Transactions page, risk and anomalous transactions: they need only the newest active ranges."""
        calls: list[Callable[[], Any]] = [
            partial(self.transactions, address, active, limit, position),
            partial(self.risk, address, active),
            partial(self.anomalous, address, active),
        ]
        return [self._submit(call, self.query_pool) for call in calls]

    def _pipelined(self, address: str, cover: list, limit: int, position: tuple[int, ...]) -> tuple:
        """Read the cover newest part first; start the dependents once the newest parts name enough ranges.

        Cover parts are disjoint and in range order, so the ranges found in a newest suffix of the cover are
        exactly the address's newest ranges: a heavy address's page and recent scores need only the first
        few parts, and their queries run while the older (larger) parts are still being read.
        """
        look = partial(_point, self.points, self.snap.tokens, address)
        futures = {i: self._submit(partial(look, cover[i])) for i in reversed(range(len(cover)))}
        found: list[pa.Table | None] = [None] * len(cover)
        dependents = None
        for i in reversed(range(len(cover))):
            found[i] = futures[i].result()
            if dependents is None and (i == 0 or self._enough(active := _active(found[i:]), limit, position)):
                dependents = self._dependents(address, active if i else _active(found), limit, position)
        parts = [t for t in found if t is not None and t.num_rows]
        profile = _merge_profile(pa.concat_tables(parts, promote_options="default")) if parts else None
        return profile, dependents

    def _enough(self, active: list[tuple[int, int]], limit: int, position: tuple[int, ...]) -> bool:
        """Do these newest active ranges hold RECENT_RANGES ranges and the page after position?

        Only ranges wholly before the position count: the range holding it may have been read past already.
        """
        if len(active) < RECENT_RANGES:
            return False
        tx_keys = self.snap.by_index.get("cleaned_transactions", {})
        older = [n for i, n in active if i in tx_keys and int(tx_keys[i].split("-")[1]) < position[0]]
        return sum(older) > limit

    def _older(self, active: list[tuple[int, int]], position: tuple[int, ...]) -> list[tuple[int, int]]:
        """The active ranges (newest first) that can hold transactions before position."""
        tx_keys = self.snap.by_index.get("cleaned_transactions", {})
        return [(i, n) for i, n in reversed(active) if i in tx_keys and int(tx_keys[i].split("-")[0]) <= position[0]]

    def profile(self, address: str) -> tuple[dict | None, list[tuple[int, int]]]:
        """The lifetime profile and the address's active (range index, tx count), oldest first."""
        cover = self.snap.covers.get("address_profiles", [])
        if not cover:
            return None, self._fallback_ranges()
        cover = parts_for_key(cover, address)
        look = partial(_point, self.points, self.snap.tokens, address)
        found = [f.result() for f in [self._submit(partial(look, p)) for p in cover]]
        parts = [t for t in found if t is not None and t.num_rows]
        if not parts:
            return None, []
        return _merge_profile(pa.concat_tables(parts, promote_options="default")), _active(found)

    def _fallback_ranges(self) -> list[tuple[int, int]]:
        """Without a profile tree: the newest RECENT_RANGES stored ranges (counts unknown)."""
        indexes = sorted(self.snap.by_index.get("cleaned_transactions", {}))[-RECENT_RANGES:]
        return [(i, 0) for i in indexes]

    def _recent(self, asset: str, active: list[tuple[int, int]]) -> list[str]:
        by_index = self.snap.by_index.get(asset, {})
        keys = [by_index[i] for i, _ in active if i in by_index]
        return keys[-RECENT_RANGES:]

    def risk(self, address: str, active: list[tuple[int, int]]) -> dict | None:
        """The address_risk_scores row of the newest active range that scored the address."""
        keys = self._recent("address_risk_scores", active)
        for batch in (keys[-1:], keys[:-1]):  # the newest range nearly always has it
            if not batch:
                continue
            key_of = {self.storage.path("address_risk_scores", k): k for k in batch}
            sql = f"SELECT * FROM {_source(list(key_of), filename=True)} WHERE address = $a"
            rows = self.engine.rows(sql, {"a": address})
            if rows:
                row = max(rows, key=lambda r: key_of.get(r.get("filename", ""), batch[0]))
                return {**pick(row, RISK_COLUMNS), "partition_key": key_of.get(row.get("filename", ""), batch[0])}
        return None

    def labels(self, address: str) -> list[dict]:
        keys = self.snap.keys("address_labels")
        if not keys:
            return []
        sql = f"SELECT * FROM {_source(self._paths('address_labels', keys))} WHERE address = $a"
        labels = [pick(r, LABEL_FIELDS) for r in self.engine.rows(sql, {"a": address})]
        return list({(lb["label"], lb["source"]): lb for lb in labels}.values())

    def anomalous(self, address: str, active: list[tuple[int, int]]) -> list[dict]:
        """Above-threshold scored transactions in the newest RECENT_RANGES active ranges, newest first."""
        keys = self._recent("anomaly_scores", active)
        out: list[dict] = []
        for size in RECENT_BATCHES:
            batch, keys = keys[-size:], keys[:-size]
            if not batch or len(out) >= ANOMALOUS_LIMIT:
                break
            sql = ANOMALOUS_SQL.format(src=_source(self._paths("anomaly_scores", batch)))
            rows = self.engine.rows(sql, {"a": address})
            rows.sort(key=lambda r: (-r["block_number"], r["rank"], r["hash"]))
            out += [anomaly_row(r) for r in rows]
        return out[:ANOMALOUS_LIMIT]

    def _scores(self, paths: list[str], hashes: list[str]) -> list[dict]:
        """anomaly_scores rows of these hashes from these files."""
        if not paths or not hashes:
            return []
        return self.engine.rows(SCORES_SQL.format(src=_source(paths)), {"hashes": hashes})

    def transactions(
        self, address: str, active: list[tuple[int, int]], limit: int, position: tuple[int, ...]
    ) -> tuple[list[dict], tuple[int, int] | None]:
        """A page of the address's transactions older than position, newest first, and the next position."""
        tx_keys = self.snap.by_index.get("cleaned_transactions", {})
        todo = self._older(active, position)
        out: list[dict] = []
        while todo and len(out) <= limit:
            need, batch, counted = limit + 1 - len(out), [], 0
            while todo and counted < need:
                index, count = todo.pop(0)
                batch.append(tx_keys[index])
                counted += count
            last = (out[-1]["block_number"], out[-1]["transaction_index"]) if out else position
            out += self._page(address, batch, need, last)
        more = len(out) > limit
        out = out[:limit]
        return out, ((out[-1]["block_number"], out[-1]["transaction_index"] or 0) if more else None)

    def _page(self, address: str, keys: list[str], n: int, position: tuple[int, ...]) -> list[dict]:
        footers = [self.snap.footers.get(("cleaned_transactions", k), {}) for k in keys]
        present = set().union(*(f.get("columns", ()) for f in footers))
        cols = ", ".join(f'"{c}"' for c in TX_COLUMNS if c in present) if present else "*"
        paths = self._paths("cleaned_transactions", keys)
        src = _source(paths, filename=True)
        sql = TX_SQL.format(cols=cols, filename=", filename" if len(paths) > 1 else "", src=src)
        rows = self.engine.rows(sql, {"a": address, "b": position[0], "i": position[1], "n": n})
        for r in rows:
            r.setdefault("filename", paths[0])
        key_of = dict(zip(paths, keys, strict=True))
        page_keys = sorted({key_of[r["filename"]] for r in rows if r["filename"] in key_of})
        scored = [self.storage.path("anomaly_scores", k) for k in page_keys if self.snap.has("anomaly_scores", k)]
        scores = {r["hash"]: anomaly_row(r) for r in self._scores(scored, [r["hash"] for r in rows])}
        return [transaction_row(r, key_of.get(r["filename"], ""), scores.get(r["hash"])) for r in rows]
