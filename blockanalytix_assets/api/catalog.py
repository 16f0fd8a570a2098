"""What the store holds, kept in memory: keys per asset, per-range summaries and the run trees' covers.

A background thread relists every REFRESH_S seconds. A request that misses a named file stats it and refreshes
when it is there now; one that misses without a name (an unknown hash) refreshes at most once per
ON_DEMAND_MIN_S. Footers are reread only for files whose (size, mtime) changed, so a refresh of
N ranges costs a few listings, not N reads. Requests read an immutable Snapshot and never wait on storage.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.fs as pafs
import pyarrow.parquet as pq

from blockanalytix_assets.api import footer_cache
from blockanalytix_assets.api.engine import Engine, sql_list
from blockanalytix_assets.api.summaries import parse_summary
from blockanalytix_assets.index.plan import range_index as tree_index
from blockanalytix_assets.ranges import PartitionKeyError, parse_key
from blockanalytix_assets.storage import Storage

log = logging.getLogger(__name__)
REFRESH_S = 15.0
ON_DEMAND_MIN_S = 1.0
ON_DEMAND_FOOTERS = 32
FOOTER_ASSETS = ("cleaned_transactions", "anomaly_scores")
RANGE_ASSETS = ("raw_blocks", "cleaned_transactions", "anomaly_scores")
ASSETS = (*RANGE_ASSETS, "address_risk_scores", "address_activity", "address_labels")
TREES = {"address_profiles": "address_activity", "transaction_index": "cleaned_transactions"}  # name -> leaf
EMPTY_SCORES = dict.fromkeys(("anomalies", "threshold", "max_score", "classifier_version", "autoencoder_version"))
FALLBACK_SQL = """
SELECT count(*) AS rows, first(threshold) FILTER (WHERE threshold IS NOT NULL) AS threshold,
       max(anomaly_score) AS max_score, max(classifier_version) AS classifier_version,
       max(autoencoder_version) AS autoencoder_version
FROM read_parquet({path})
"""


@dataclass(frozen=True)
class LeafPart:
    """A cover part when the tree module or manifest is unavailable: one leaf file."""

    level: int
    index: int
    first_key: str
    last_key: str
    path: str
    key_min: object = None
    key_max: object = None
    shard: int = 0


@dataclass(frozen=True)
class Snapshot:
    """One consistent view of the store; replaced whole on refresh."""

    files: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)  # asset -> key -> (size, mtime)
    ranges: list[dict] = field(default_factory=list)  # /ranges rows, in key order
    by_index: dict[str, dict[int, str]] = field(default_factory=dict)  # asset -> range index -> key
    covers: dict[str, list] = field(default_factory=dict)  # tree name -> cover parts (node shards) in range order
    refreshed: float = 0.0
    footers: dict[tuple[str, str], dict] = field(default_factory=dict)  # (asset, key) -> rows, columns, summary
    tokens: dict[str, str] = field(default_factory=dict)  # cover file path -> token that changes with its bytes

    def keys(self, asset: str) -> list[str]:
        return sorted(self.files.get(asset, {}))

    def has(self, asset: str, key: str) -> bool:
        return key in self.files.get(asset, {})

    def range_keys(self) -> set[str]:
        return {r["key"] for r in self.ranges}


def range_index(key: str) -> int | None:
    """The run trees' index of a range key (index/plan.py), None for a key that is not a range."""
    try:
        return tree_index(key)
    except PartitionKeyError:
        return None


class Catalog:
    """The in-memory catalog of one storage root."""

    def __init__(self, storage: Storage, engine: Engine, cache_folder: str | Path | None = None):
        self.storage, self.engine = storage, engine
        self.snapshot = Snapshot()
        self._cache = footer_cache.cache_file(cache_folder, storage.root) if cache_folder else None
        self._footers: footer_cache.Footers = footer_cache.load(self._cache, storage.root) if self._cache else {}
        self._footers_read = 0  # footers read from storage since the cache was last written
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._footer_lock = threading.Lock()
        self.complete = threading.Event()  # set once a refresh has read every footer (range summaries)
        self._thread: threading.Thread | None = None

    def start(self, interval: float = REFRESH_S) -> None:
        """List now (no footers: start-up must not grow with the ranges), then refresh in a daemon thread.

        When the footer cache holds every listed file's summary as it is now, the catalog is complete at once.
        """
        snap = self.refresh(footers=False, footer_limit=0)
        cached = {ak: token for ak, (token, _) in self._footers.items()}
        if all(cached.get((a, k)) == token for a in FOOTER_ASSETS for k, token in snap.files.get(a, {}).items()):
            self.complete.set()
        self._thread = threading.Thread(target=self._loop, args=(interval,), name="catalog-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self, interval: float) -> None:
        wait = 0.0  # the first full refresh (footers) right away, then every interval
        while not self._stop.wait(wait):
            wait = interval
            try:
                self.refresh()
            except Exception as exc:  # a storage hiccup must not kill the thread; the old snapshot stays
                log.warning("catalog refresh failed: %s", type(exc).__name__)

    def refresh_on_miss(self) -> Snapshot:
        """Relist when the snapshot is older than ON_DEMAND_MIN_S (a request missed a key); the snapshot."""
        if time.time() - self.snapshot.refreshed >= ON_DEMAND_MIN_S:
            self.refresh(min_age=ON_DEMAND_MIN_S, footers=False)
        return self.snapshot

    def refresh_if_stored(self, asset: str, key: str) -> Snapshot:
        """After a miss on a known file name: one stat, and a refresh only when the file is there now."""
        if self.storage.exists(asset, key) and not self.snapshot.has(asset, key):
            self.refresh(footers=False)
        return self.snapshot

    def refresh(self, min_age: float = 0.0, footers: bool = True, footer_limit: int = ON_DEMAND_FOOTERS) -> Snapshot:
        """List every asset, read changed footers, recompute the covers; swap in the new snapshot.

        footers=False reads at most ON_DEMAND_FOOTERS changed footers (the rest keep their last summary until the
        background refresh): start-up and a request's refresh never wait for thousands of footer reads.
        """
        if footers:
            with self._footer_lock:  # the slow part, outside the snapshot lock: requests do not queue behind it
                self._read_footers({asset: self._list(asset) for asset in FOOTER_ASSETS})
                if self._cache is not None and self._footers_read:
                    footer_cache.save(self._cache, self.storage.root, self._footers)
                    self._footers_read = 0
        with self._lock:
            if min_age and time.time() - self.snapshot.refreshed < min_age:
                return self.snapshot  # another request refreshed while this one waited
            files = {asset: self._list(asset) for asset in ASSETS}
            known = self._known_footers(files, None if footers else footer_limit)
            by_index = {a: {i: k for k in files[a] if (i := range_index(k)) is not None} for a in ASSETS}
            tokens: dict[str, str] = {}
            covers = {name: self._cover(name, leaf, files, tokens) for name, leaf in TREES.items()}
            snap = Snapshot(files, self._ranges(files, known), by_index, covers, time.time(), known, tokens)
            self.snapshot = snap
            if footers:
                self.complete.set()
            return snap

    def _known_footers(self, files: dict, limit: int | None) -> dict[tuple[str, str], dict]:
        """Footers of the listed files: all of them (limit None), else the cached ones plus up to limit changed."""
        if limit is None:
            with self._footer_lock:
                return self._read_footers(files)
        if not self._footer_lock.acquire(blocking=False):  # a full refresh is reading: use what is cached
            return {ak: v for ak, (_, v) in dict(self._footers).items()}
        try:
            return self._read_footers(files, limit=limit)
        finally:
            self._footer_lock.release()

    def _list(self, asset: str) -> dict[str, tuple[int, int]]:
        fs, base = self.storage._fs()
        sel = pafs.FileSelector(f"{base}/{asset}", allow_not_found=True)
        return {
            i.base_name[: -len(".parquet")]: (i.size or 0, i.mtime_ns or 0)
            for i in fs.get_file_info(sel)
            if i.type == pafs.FileType.File and i.base_name.endswith(".parquet") and not i.base_name.startswith(".")
        }

    def _read_footers(self, files: dict, limit: int | None = None) -> dict[tuple[str, str], dict]:
        wanted = [(a, k) for a in FOOTER_ASSETS for k in files[a]]
        stale = [(a, k) for a, k in wanted if self._footers.get((a, k), (None,))[0] != files[a][k]]
        if limit is not None and len(stale) > limit:
            stale = []  # too many for a request's refresh: the background refresh reads them
        if stale:
            with ThreadPoolExecutor(8 if self.storage.is_s3 else 2) as pool:
                for (a, k), value in zip(stale, pool.map(lambda ak: self._footer(*ak), stale), strict=True):
                    self._footers[(a, k)] = (files[a][k], value)
            self._footers_read += len(stale)
        if limit is None:
            self._footers = {ak: self._footers[ak] for ak in wanted if ak in self._footers}
        return {ak: v for ak, (_, v) in self._footers.items()}

    def _footer(self, asset: str, key: str) -> dict:
        """num_rows of cleaned_transactions; the stored summary of anomaly_scores (computed when absent)."""
        fs, path = self.storage._fs_path(asset, key)
        try:
            meta = pq.read_metadata(path, filesystem=fs)
        except (OSError, ValueError) as exc:
            log.warning("unreadable footer %s/%s: %s", asset, key, type(exc).__name__)
            return {"rows": None, **EMPTY_SCORES}
        if asset == "cleaned_transactions":
            return {"rows": meta.num_rows, "columns": frozenset(meta.schema.to_arrow_schema().names)}
        summary = parse_summary(meta.metadata)
        return summary if summary is not None else self._computed_summary(asset, key)

    def _computed_summary(self, asset: str, key: str) -> dict:
        path = self.storage.path(asset, key)
        row = self.engine.rows(FALLBACK_SQL.format(path=sql_list([path])))[0]
        thr = row["threshold"]
        anomalies = None
        if thr is not None:
            sql = f"SELECT count(*) AS n FROM read_parquet({sql_list([path])}) WHERE anomaly_score >= ?"
            anomalies = self.engine.rows(sql, [thr])[0]["n"]
        return {**row, "anomalies": anomalies}

    def _cover(self, name: str, leaf_asset: str, files: dict, tokens: dict[str, str]) -> list:
        try:
            from blockanalytix_assets.index.runs import RunTree
            from blockanalytix_assets.index.trees import PROFILE_TREE, TX_INDEX_TREE

            spec = {PROFILE_TREE.name: PROFILE_TREE, TX_INDEX_TREE.name: TX_INDEX_TREE}[name]
            leaves = {k: f"{size}:{mtime}" for k, (size, mtime) in files.get(leaf_asset, {}).items()}
            tree = RunTree(self.storage, spec)
            manifest = tree.manifest()
            cover = list(tree.cover(leaves=leaves, manifest=manifest))
            nodes = manifest.get("nodes", {})
            for p in cover:  # a rebuilt node keeps its paths; its token (children's tokens) changes, per shard
                node = nodes.get(f"L{p.level}/{p.index:09d}", {})
                tokens[p.path] = leaves.get(p.first_key, "") if p.level == 0 else f"{node.get('token', '')}:{p.shard}"
            return cover
        except Exception as exc:  # no tree module or an unreadable manifest: every leaf, still correct
            log.warning("tree %s unavailable (%s); reading its leaves", name, type(exc).__name__)
            return [
                LeafPart(0, i, k, k, self.storage.path(leaf_asset, k))
                for k in sorted(files.get(leaf_asset, {}))
                if (i := range_index(k)) is not None
            ]

    def _ranges(self, files: dict, footers: dict) -> list[dict]:
        out = []
        for key in sorted(set().union(*(files[a] for a in RANGE_ASSETS))):
            try:
                r = parse_key(key)
            except PartitionKeyError:
                continue  # a stray file name is not a range
            tx = footers.get(("cleaned_transactions", key))
            scores = footers.get(("anomaly_scores", key))
            row = {"key": key, "first_block": r.first, "last_block": r.last, "ingested": key in files["raw_blocks"]}
            row.update(scored=key in files["anomaly_scores"], transactions=tx["rows"] if tx else None)
            row.update({k: (scores or EMPTY_SCORES).get(k) for k in EMPTY_SCORES})
            out.append(row)
        return out
