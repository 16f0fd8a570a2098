"""Run trees: a segment tree of merged, sorted Parquet runs over per-range files, updated incrementally.

A level-k node i covers range indexes [i*F^k, (i+1)*F^k) and exists only when all F children exist, so the
node set, and every node file's bytes, are a function of the set of present leaves, not of arrival order.
Memory: building a node holds its F children's rows once (plus the merge's output); above `chunk_rows` the
children are read and merged by sort-key chunks of about `chunk_rows` rows (split at row-group minima), so a
node of any size needs O(chunk_rows + F row groups) memory. Level-1 nodes over transformed leaves (the hash
index: 12 bytes a row) are merged whole. A leaf's token is "size:mtime_ns": a rewrite with the same size within
the storage's mtime resolution (1 s on S3) goes unnoticed. Run one update() per tree at a time; readers may
run concurrently (node files are replaced atomically and deleted only after the manifest stops naming them).
A node above `shard_rows` rows is written, as its merge streams, into shard files `<index>-<s:04d>.parquet` of
contiguous key ranges (index/shards.py), so every footer stays bounded; the manifest lists each node's files
with rows and min/max key, and a point lookup keeps one shard per node (parts_for_key).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from blockanalytix_assets.index.chunks import chunk_bounds, chunk_filters
from blockanalytix_assets.index.manifest import PAGE_LEVEL, VERSION, Manifests, split
from blockanalytix_assets.index.plan import LeafKeys, compute_cover, node_name, plan_nodes, range_index, replan
from blockanalytix_assets.index.shards import ShardCutter, chunk_ranges, overlaps, track
from blockanalytix_assets.index.spec import Part, TreeSpec
from blockanalytix_assets.storage import Storage

CHUNK_ROWS = 2_000_000


class RunTree:
    """A run tree of one TreeSpec under a Storage root: `<root>/<name>/L<k>/<i:09d>.parquet` + `_manifest.json`."""

    def __init__(self, storage: Storage, spec: TreeSpec, chunk_rows: int = CHUNK_ROWS, shard_rows: int | None = None):
        self.storage, self.spec, self.chunk_rows = storage, spec, chunk_rows
        self.shard_rows = spec.shard_rows if shard_rows is None else shard_rows
        self._fs, self._base = storage._fs()  # one filesystem (one S3 client) per tree
        self._manifests = Manifests(storage, self._fs, self._base, spec.name, spec.fanout)

    # listing and manifest -------------------------------------------------------------------------------------
    def _list(self, relpath: str) -> list[pafs.FileInfo]:
        sel = pafs.FileSelector(f"{self._base}/{relpath}", allow_not_found=True)
        return [i for i in self._fs.get_file_info(sel) if not i.base_name.startswith(".")]

    def list_leaves(self) -> dict[str, str]:
        """{key: "size:mtime_ns"} of the leaf asset's files, from one directory listing."""
        return {
            i.base_name[: -len(".parquet")]: f"{i.size}:{i.mtime_ns}"
            for i in self._list(self.spec.leaf_asset)
            if i.type == pafs.FileType.File and i.base_name.endswith(".parquet")
        }

    def manifest(self) -> dict:
        """The manifest as last written by update() ({"version", "fanout", "leaves", "nodes"}), or an empty one."""
        return self._manifests.read()

    # reading -------------------------------------------------------------------------------------------------
    def _parts(self, level: int, index: int, first_key: str, last_key: str, nodes: dict) -> list[Part]:
        """A leaf's file, or a node's shard files as the manifest entry lists them (one file when it does not)."""
        if level == 0:
            return [Part(0, index, first_key, last_key, self.storage.path(self.spec.leaf_asset, first_key))]
        folder, entry = f"{self.spec.name}/L{level}", nodes.get(node_name(level, index), {})
        return [
            Part(level, index, first_key, last_key, self.storage.path(folder, f"{index:09d}{s['suffix']}"),
                 s.get("key_min"), s.get("key_max"), n)
            for n, s in enumerate(entry.get("shards") or [{"suffix": ""}])
        ]  # fmt: skip

    def cover(
        self, upto_key: str | None = None, *, leaves: dict[str, str] | None = None, manifest: dict | None = None
    ) -> list[Part]:
        """The files a reader merges, in range order; pass a cached listing/manifest to skip the I/O."""
        leaves = self.list_leaves() if leaves is None else leaves
        manifest = self.manifest() if manifest is None else manifest
        if manifest.get("fanout") != self.spec.fanout:
            manifest = {"fanout": self.spec.fanout, "nodes": {}}
        nodes = manifest.get("nodes", {})
        return [part for p in compute_cover(manifest, leaves, upto_key) for part in self._parts(*p, nodes)]

    def _fs_path(self, part: Part) -> tuple[pafs.FileSystem, str]:
        return self._fs, self._base + part.path[len(self.storage.root.rstrip("/")) :]

    def read_part(self, part: Part, filter: pc.Expression | None = None, columns: list[str] | None = None) -> pa.Table:
        """One part's rows in the tree's node schema (leaves read with leaf_columns and transformed)."""
        fs, p = self._fs_path(part)
        spec = self.spec
        if part.level == 0 and spec.leaf_transform is not None:
            t = pq.read_table(p, filesystem=fs, columns=spec.leaf_columns, page_checksum_verification=True)
            t = spec.leaf_transform(t, part.index)
            t = t.filter(filter) if filter is not None else t
            return t.select(columns) if columns is not None else t
        if part.level == 0 and columns is None:
            columns = spec.leaf_columns
        return pq.read_table(p, filesystem=fs, columns=columns, filters=filter, page_checksum_verification=True)

    def read(
        self, upto_key: str | None = None, filter: pc.Expression | None = None, columns: list[str] | None = None
    ) -> pa.Table:
        """The cover's rows concatenated in range order (not merged), the filter pushed down to each file.

        An empty tree (no leaves) gives a table without columns.
        """
        parts = self.cover(upto_key)
        if not parts:
            return pa.table({})
        with ThreadPoolExecutor(min(8, len(parts))) as pool:
            tables = list(pool.map(lambda part: self.read_part(part, filter, columns), parts))
        return pa.concat_tables(tables, promote_options="default")

    # building ------------------------------------------------------------------------------------------------
    def _children(self, entry: dict, leaf_keys: dict[int, str], nodes: dict) -> list[list[Part]]:
        """Each child's files: a leaf's one file or a node's shards."""
        f, level, index = self.spec.fanout, entry["level"], entry["index"]
        kids = range(index * f, (index + 1) * f)
        if level == 1:
            return [self._parts(0, i, leaf_keys[i], leaf_keys[i], nodes) for i in kids]
        return [self._parts(level - 1, i, "", "", nodes) for i in kids]

    def _footers(self, parts: list[Part]) -> list[pq.FileMetaData]:
        return [pq.read_metadata(p, filesystem=fs) for fs, p in map(self._fs_path, parts)]

    def _merged(self, children: list[list[Part]], level: int, total: int, stats: dict) -> Iterator[pa.Table]:
        """The node's merged rows, whole or by sort-key chunks (the same rows either way: keys never cross)."""
        spec = self.spec
        bounds: list = []
        # A transformed leaf has no sort-key statistics to split by.
        if (level >= 2 or spec.leaf_transform is None) and total > self.chunk_rows:
            footers = self._footers([p for kid in children for p in kid])
            bounds = chunk_bounds(footers, spec.sort_column, math.ceil(total / self.chunk_rows))
        for (low, high), flt in zip(chunk_ranges(bounds), chunk_filters(spec.sort_column, bounds), strict=True):
            tables = []
            for kid in children:  # one table per child: its shards that meet the chunk's key range
                read = [self.read_part(p, flt) for p in [p for p in kid if overlaps(p, low, high)] or kid[:1]]
                tables.append(read[0] if len(read) == 1 else pa.concat_tables(read))
            stats["rows_read"] += sum(t.num_rows for t in tables)
            yield spec.merge(tables)

    def _build(self, entry: dict, children: list[list[Part]], total: int | None, stats: dict) -> list[dict]:
        """Merge and write the node's shard files; their manifest records (suffix, rows, key_min, key_max)."""
        spec, level, base = self.spec, entry["level"], f"{entry['index']:09d}"
        if total is None:  # level 1: the leaves' row counts (a guess of the output size for a transformed leaf)
            total = sum(md.num_rows for md in self._footers([p for kid in children for p in kid]))
        cutter = ShardCutter(self._merged(children, level, total, stats), spec.sort_column, self.shard_rows,
                             spec.row_group_rows)  # fmt: skip
        folder = f"{spec.name}/L{level}"
        shards: list[dict[str, Any]] = []
        while cutter.more():
            # The first file is named as a lone node's when the input fits one shard (merges never add rows).
            suffix = "" if not shards and total <= self.shard_rows else f"-{len(shards):04d}"
            info: dict[str, Any] = {"suffix": suffix}
            rows = track(cutter.shard(), spec.sort_column, info)
            self.storage.write_stream(folder, base + suffix, cutter.schema, rows, [spec.sort_column], spec.dictionary)
            shards.append(info)
        want = "" if len(shards) == 1 else "-0000"
        if shards[0]["suffix"] != want:  # the first guess was wrong: rename (a copy on S3)
            node = f"{self._base}/{folder}/{base}"
            self._fs.move(f"{node}{shards[0]['suffix']}.parquet", f"{node}{want}.parquet")
            shards[0]["suffix"] = want
        stats["rows_written"] += sum(s["rows"] for s in shards)
        return shards

    def _node_files(self) -> dict[str, pafs.FileInfo]:
        """Node files on storage: one listing of the tree folder and one per level folder."""
        out = {}
        for d in self._list(self.spec.name):
            if d.type == pafs.FileType.Directory and d.base_name[:1] == "L" and d.base_name[1:].isdigit():
                for f in self._list(f"{self.spec.name}/{d.base_name}"):
                    if f.type == pafs.FileType.File and f.base_name.endswith(".parquet"):
                        out[f"{d.base_name}/{f.base_name[: -len('.parquet')]}"] = f
        return out

    def _stat_leaves(self, keys: list[str]) -> dict[str, str | None]:
        """{key: "size:mtime_ns", or None where the leaf file is absent} with one stat per key (no listing)."""
        infos = self._fs.get_file_info([f"{self._base}/{self.spec.leaf_asset}/{k}.parquet" for k in keys])
        files = {k: i for k, i in zip(keys, infos, strict=True) if i.type == pafs.FileType.File}
        return {k: f"{files[k].size}:{files[k].mtime_ns}" if k in files else None for k in keys}

    def update(self, changed: Iterable[str] | None = None) -> dict:
        """Fold the leaves in: build new or stale nodes, write the manifest, then delete dead node files.

        `changed`: the leaf keys written or deleted since the last update (an orchestrator knows them); only those
        are stat'ed and only their ancestors re-planned, so the cost does not grow with the ranges present beyond
        the manifest's JSON. None lists every leaf and node file and repairs whatever differs (a full reconcile).
        """
        t0 = time.perf_counter()
        spec = self.spec
        root = self._manifests.root()
        if changed is None or not root or root.get("version") != VERSION or root.get("fanout") != spec.fanout:
            old = self._manifests.read()  # a full reconcile, or the first update or the upgrade of a manifest
            old_leaves, old_nodes = old["leaves"], old["nodes"]
            leaves, on_disk = self.list_leaves(), self._node_files()
            touched = set(leaves) ^ set(old_leaves) | {k for k, t in leaves.items() if old_leaves.get(k, t) != t}
            plan, present = plan_nodes(leaves, spec.fanout), set(on_disk)
            counts, pages, changed = {}, None, None
        else:  # only the changed keys' pages (and the root): the rest of the tree is neither read nor listed
            keys = sorted(set(changed))
            pages = {range_index(k) // spec.fanout**PAGE_LEVEL for k in keys}
            loaded = self._manifests.pages(pages)
            old_leaves = {k: t for page in loaded.values() for k, t in page["leaves"].items()}
            old_nodes = {**root["nodes"], **{n: e for page in loaded.values() for n, e in page["nodes"].items()}}
            stat, leaves = self._stat_leaves(keys), dict(old_leaves)
            touched = {k for k, t in stat.items() if t != old_leaves.get(k)}
            for k in touched:
                if (token := stat[k]) is None:
                    leaves.pop(k)
                else:
                    leaves[k] = token
            plan, present = replan(old_nodes, leaves, touched, spec.fanout), set()  # kept entries: trusted
            counts = {p: n for p, n in root["pages"].items() if int(p) not in pages}
        stats = {
            "leaves": sum(counts.values()) + len(leaves),
            "new_leaves": sum(k not in old_leaves for k in touched),
            "changed_leaves": sum(k in old_leaves and k in leaves for k in touched),
            "removed_leaves": sum(k not in leaves for k in touched),
            **dict.fromkeys(["nodes_built", "nodes_removed", "rows_read", "rows_written"], 0),
        }
        leaf_keys = LeafKeys(leaves)
        nodes: dict[str, dict] = {}
        for name, entry in sorted(plan.items(), key=lambda kv: (kv[1]["level"], kv[1]["index"])):
            prev = old_nodes.get(name)
            kept = prev is not None and prev["token"] == entry["token"] and _files(name, prev) <= present
            if entry is prev or kept:
                nodes[name] = prev
                continue
            children = self._children(entry, leaf_keys, nodes)
            level = entry["level"]
            total = sum(nodes[node_name(level - 1, kid[0].index)]["rows"] for kid in children) if level > 1 else None
            entry = {k: v for k, v in entry.items() if k not in ("shards", "rows")}
            entry["shards"] = self._build(entry, children, total, stats)
            entry["rows"] = sum(s["rows"] for s in entry["shards"])
            nodes[name] = entry
            stats["nodes_built"] += 1
        root_nodes, written = split(leaves, nodes, spec.fanout)
        stale = pages if pages is not None else self._manifests.stored_pages()  # emptied pages get deleted
        written = {p: written.get(p, {"leaves": {}, "nodes": {}}) for p in stale | set(written)}
        counts.update({f"{p:09d}": len(page["leaves"]) for p, page in written.items() if page["leaves"]})
        self._manifests.write(root_nodes, written, dict(sorted(counts.items())))
        if changed is None:
            live = set().union(*(_files(name, e) for name, e in nodes.items()))
            dead = sorted(set(on_disk) - live)
        else:  # the files of replaced or removed nodes that the new entries do not name
            dead = sorted(
                f for n, e in old_nodes.items() if nodes.get(n) is not e for f in _files(n, e) - _files(n, nodes.get(n))
            )
        for name in dead:  # dead nodes, and shards a rebuilt node no longer has
            with contextlib.suppress(FileNotFoundError):
                self._fs.delete_file(f"{self._base}/{spec.name}/{name}.parquet")
        stats["nodes_removed"] = len(old_nodes.keys() - nodes.keys())
        stats["files_removed"] = len(dead)
        stats["seconds"] = round(time.perf_counter() - t0, 4)
        return stats


def _files(name: str, entry: dict | None) -> set[str]:
    """The node's file names as _node_files() lists them ("L<k>/<index>[-<s>]"); none for no entry."""
    return set() if entry is None else {name + s["suffix"] for s in entry.get("shards") or [{"suffix": ""}]}
