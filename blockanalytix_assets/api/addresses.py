"""GET /addresses/{address}: the lifetime profile from the run tree's cover, then only the ranges it names.

No lookup scans every range: the profile comes from the cover's few sorted files (row groups pruned by their
address min/max), and its `ranges`/`range_tx_counts` say which ranges hold the address's transactions, so a
page reads just enough of the newest ones. Risk and anomalous transactions look at the newest RECENT_RANGES
ranges where the address is active (the newest RECENT_RANGES stored ranges for an address without a profile).
"""

from __future__ import annotations

from concurrent.futures import Executor
from functools import partial

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
from blockanalytix_assets.storage import Storage

RECENT_RANGES = 32
RECENT_BATCHES = (2, 6, 24)
ANOMALOUS_LIMIT = 20
READ = "read_parquet({paths}, union_by_name = true, filename = true)"
# Narrow scans find the rows (a few columns of every file), then whole rows come from the files that hold them.
ANOMALOUS_SQL = f"""
SELECT * FROM {READ} WHERE (from_address = $a OR to_address = $a) AND anomaly_score >= threshold
"""
SCORES_SQL = f"SELECT * FROM {READ} WHERE list_contains($hashes, hash)"
TX_SQL = """
SELECT {cols}, filename FROM {tx} WHERE (from_address = $a OR to_address = $a)
  AND (block_number < $b OR (block_number = $b AND transaction_index < $i))
ORDER BY block_number DESC, transaction_index DESC LIMIT $n
"""
NO_POSITION = (2**62, 2**62)


def _point(points: PointReader, tokens: dict[str, str], address: str, part) -> pa.Table | None:
    return points.lookup(part.path, tokens.get(part.path, ""), "address", address)


def _merge_profile(rows: pa.Table) -> tuple[dict, pa.Table]:
    """The API profile and the merged activity row of the rows read (one per cover part, in range order)."""
    from blockanalytix_assets.features.activity import ACTIVITY_SCHEMA
    from blockanalytix_assets.features.profiles import merge_activity, profile_records

    merged = merge_activity([rows.select(ACTIVITY_SCHEMA.names).cast(ACTIVITY_SCHEMA)])  # it merges duplicates
    return {k: clean(v) for k, v in profile_records(merged)[0].items()}, merged


class AddressLookup:
    """One address's answer from one catalog snapshot."""

    def __init__(
        self, storage: Storage, engine: Engine, snap: Snapshot, points: PointReader, pool: Executor | None = None
    ):
        self.storage, self.engine, self.snap, self.points, self.pool = storage, engine, snap, points, pool

    def _paths(self, asset: str, keys: list[str]) -> str:
        return sql_list([self.storage.path(asset, k) for k in keys])

    def answer(self, address: str, limit: int, position: tuple[int, ...] | None) -> dict | None:
        profile, active = self.profile(address)
        calls = [
            partial(self.transactions, address, active, limit, position or NO_POSITION),
            partial(self.risk, address, active),
            partial(self.labels, address),
            partial(self.anomalous, address, active),
        ]
        if self.pool is None:
            results = [call() for call in calls]
        else:  # independent queries: DuckDB runs them side by side on their own cursors
            results = [f.result() for f in [self.pool.submit(call) for call in calls]]
        (txs, next_position), risk, labels, anomalous = results
        if profile is None and risk is None and not labels and not txs and not anomalous:
            return None
        return {
            "address": address,
            "risk": risk,
            "labels": labels,
            "anomalous_transactions": anomalous,
            "profile": profile,
            "transactions": txs,
            "next_cursor": encode_cursor(*next_position) if next_position else None,
        }

    def profile(self, address: str) -> tuple[dict | None, list[tuple[int, int]]]:
        """The lifetime profile and the address's active (range index, tx count), oldest first."""
        cover = self.snap.covers.get("address_profiles", [])
        if not cover:
            return None, self._fallback_ranges()
        # Each cover file is sorted by address: one small row group per file, footers cached (api/points.py);
        # of a sharded node only the shard whose key range holds the address.
        cover = parts_for_key(cover, address)
        look = partial(_point, self.points, self.snap.tokens, address)
        found = list(self.pool.map(look, cover)) if self.pool is not None else [look(p) for p in cover]
        parts = [t for t in found if t is not None and t.num_rows]
        if not parts:
            return None, []
        record, merged = _merge_profile(pa.concat_tables(parts, promote_options="default"))
        row = merged.select(["ranges", "range_tx_counts"]).to_pylist()[0]
        return record, list(zip(row["ranges"] or [], row["range_tx_counts"] or [], strict=True))

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
            sql = f"SELECT * FROM {READ.format(paths=sql_list(list(key_of)))} WHERE address = $a"
            rows = self.engine.rows(sql, {"a": address})
            if rows:
                row = max(rows, key=lambda r: key_of.get(r["filename"], ""))
                return {**pick(row, RISK_COLUMNS), "partition_key": key_of.get(row["filename"])}
        return None

    def labels(self, address: str) -> list[dict]:
        keys = self.snap.keys("address_labels")
        if not keys:
            return []
        sql = f"SELECT * FROM {READ.format(paths=self._paths('address_labels', keys))} WHERE address = $a"
        labels = [pick(r, LABEL_FIELDS) for r in self.engine.rows(sql, {"a": address})]
        return list({(lb["label"], lb["source"]): lb for lb in labels}.values())

    def anomalous(self, address: str, active: list[tuple[int, int]]) -> list[dict]:
        """Above-threshold scored transactions in the newest RECENT_RANGES active ranges, newest first."""
        keys, out = self._recent("anomaly_scores", active), []
        for size in RECENT_BATCHES:
            batch, keys = keys[-size:], keys[:-size]
            if not batch or len(out) >= ANOMALOUS_LIMIT:
                break
            rows = self.engine.rows(ANOMALOUS_SQL.format(paths=self._paths("anomaly_scores", batch)), {"a": address})
            rows.sort(key=lambda r: (-r["block_number"], r["rank"], r["hash"]))
            out += [anomaly_row(r) for r in rows]
        return out[:ANOMALOUS_LIMIT]

    def _scores(self, paths: list[str], hashes: list[str]) -> list[dict]:
        """anomaly_scores rows of these hashes from these files."""
        if not paths or not hashes:
            return []
        return self.engine.rows(SCORES_SQL.format(paths=sql_list(paths)), {"hashes": hashes})

    def transactions(
        self, address: str, active: list[tuple[int, int]], limit: int, position: tuple[int, ...]
    ) -> tuple[list[dict], tuple[int, int] | None]:
        """A page of the address's transactions older than position, newest first, and the next position."""
        tx_keys = self.snap.by_index.get("cleaned_transactions", {})
        sizes = {i: int(k[10:]) - int(k[:9]) + 1 for i, k in tx_keys.items()}
        todo = [(i, n) for i, n in reversed(active) if i in tx_keys and i * sizes[i] <= position[0]]
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
        sql = TX_SQL.format(cols=cols, tx=READ.format(paths=self._paths("cleaned_transactions", keys)))
        rows = self.engine.rows(sql, {"a": address, "b": position[0], "i": position[1], "n": n})
        key_of = {self.storage.path("cleaned_transactions", k): k for k in keys}
        page_keys = sorted({key_of[r["filename"]] for r in rows if r["filename"] in key_of})
        scored = [self.storage.path("anomaly_scores", k) for k in page_keys if self.snap.has("anomaly_scores", k)]
        scores = {r["hash"]: anomaly_row(r) for r in self._scores(scored, [r["hash"] for r in rows])}
        return [transaction_row(r, key_of.get(r["filename"], ""), scores.get(r["hash"])) for r in rows]
