"""Sharded run-tree nodes: cuts independent of chunking, manifest shard lists, one shard per point lookup."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from blockanalytix_assets.index.runs import RunTree
from blockanalytix_assets.index.shards import ShardCutter, parts_for_key
from blockanalytix_assets.index.spec import Part
from blockanalytix_assets.index.trees import TX_INDEX_TREE, hash_prefix
from blockanalytix_assets.storage import Storage
from blockanalytix_tests.unit.test_runs import TOY, key, node_files, scratch, toy_leaf, tx_leaf, write_leaf


def _cut(keys: list[int], sizes: list[int], shard_rows: int, group_rows: int) -> list[list[list[int]]]:
    """The cutter's shards (lists of row groups' keys) over `keys` fed in tables of the given sizes."""
    tables, start = [], 0
    for n in sizes:
        tables.append(pa.table({"k": pa.array(keys[start : start + n], pa.int64())}))
        start += n
    cutter = ShardCutter(iter(tables), "k", shard_rows, group_rows)
    out = []
    while cutter.more():
        out.append([g["k"].to_pylist() for g in cutter.shard()])
    return out


def _greedy(keys: list[int], shard_rows: int) -> list[list[int]]:
    """Reference cuts: each shard ends before the key run that would overflow it (a long run gets its own)."""
    shards, i = [], 0
    while i < len(keys):
        j = min(i + shard_rows, len(keys))
        if j < len(keys) and keys[j - 1] == keys[j]:
            start = keys.index(keys[j])
            j = start if start > i else len(keys) - keys[::-1].index(keys[j])
        shards.append(keys[i:j])
        i = j
    return shards


@pytest.mark.parametrize("seed", range(6))
def test_cuts_fall_between_keys_whatever_the_chunking(seed):
    rng = random.Random(seed)
    keys = sorted(rng.choice([rng.randrange(60), 7]) for _ in range(rng.randrange(1, 300)))  # key 7: a long run
    shard_rows, group_rows = rng.choice([(10, 4), (16, 16), (25, 8), (1, 1)])
    expected = _greedy(keys, shard_rows)
    for _ in range(4):
        sizes, left = [], len(keys)
        while left:
            sizes.append(rng.randint(0, min(left, 40)))
            left -= sizes[-1]
        shards = _cut(keys, sizes + [0], shard_rows, group_rows)
        assert [sum(s, []) for s in shards] == expected
        for s in shards:  # row groups of group_rows rows from the shard's start, the last shorter
            assert all(len(g) == group_rows for g in s[:-1]) and 0 < len(s[-1]) <= group_rows
    for a, b in zip(expected, expected[1:], strict=False):
        assert a[-1] < b[0] and (len(a) <= shard_rows or len(set(a)) == 1)
    assert _cut([], [0], 10, 4) == [[]]  # an empty node still has its one (empty) file


def _shard_files(tree: RunTree) -> dict[str, dict]:
    return {f"{n}{s['suffix']}.parquet": s for n, e in tree.manifest()["nodes"].items() for s in e["shards"]}


def test_the_manifest_lists_each_node_s_shards_and_key_ranges(tmp_path):
    spec = replace(TOY, shard_rows=20)
    tree = scratch(tmp_path / "s", spec, range(16))
    flat = scratch(tmp_path / "f", TOY, range(16))
    files, listed = node_files(tmp_path / "s", spec), _shard_files(tree)
    assert set(files) == set(listed)
    for name, entry in tree.manifest()["nodes"].items():
        shards = entry["shards"]
        assert [s["suffix"] for s in shards] == (
            [""] if entry["rows"] <= 20 else [f"-{i:04d}" for i in range(len(shards))]
        )
        assert sum(s["rows"] for s in shards) == entry["rows"] and all(s["rows"] <= 20 for s in shards)
        assert all(a["key_max"] < b["key_min"] for a, b in zip(shards, shards[1:], strict=False)), name
    for name, s in listed.items():
        t = pq.read_table(tmp_path / "s" / spec.name / name)
        assert (t.num_rows, t["k"][0].as_py(), t["k"][-1].as_py()) == (s["rows"], s["key_min"], s["key_max"])
    assert tree.read().sort_by("k").equals(flat.read().sort_by("k"))
    json.dumps(tree.manifest())  # JSON-safe


def test_a_point_lookup_keeps_one_shard_per_node(tmp_path):
    tree = scratch(tmp_path, replace(TOY, shard_rows=20), range(13))
    write_leaf(Storage(str(tmp_path)), TOY, 13)  # a loose leaf beyond the manifest: always kept
    cover = tree.cover()
    assert len(cover) > len({(p.level, p.index) for p in cover}), "some node is sharded"
    for k in sorted({f"a{i:04d}" for i in range(200)}):
        parts = parts_for_key(cover, k)
        assert len(parts) == len({(p.level, p.index) for p in parts}) and any(p.level == 0 for p in parts)
        expected = tree.read(filter=pc.field("k") == k)
        got = [tree.read_part(p, pc.field("k") == k) for p in parts]
        assert pa.concat_tables(got).sort_by("v").equals(expected.sort_by("v")), k
    leaf = Part(0, 0, key(0), key(0), "x")
    assert parts_for_key([leaf, Part(1, 0, "", "", "y", "a1", "a2")], "a3") == [leaf]


def test_rebuilt_and_removed_nodes_leave_no_stale_shards(tmp_path):
    spec = replace(TOY, shard_rows=20)
    tree = scratch(tmp_path, spec, range(8))
    before = set(node_files(tmp_path, spec))
    store = Storage(str(tmp_path))
    for i in (0, 1):  # node L1/0 (and its ancestors) shrink to one file each
        store.write(spec.leaf_asset, key(i), toy_leaf(i, rows=3))
    stats = tree.update()
    assert stats["nodes_built"] == 3 and stats["nodes_removed"] == 0 and stats["files_removed"] > 0
    assert set(node_files(tmp_path, spec)) == set(_shard_files(tree)) != before
    assert "L1/000000000.parquet" in node_files(tmp_path, spec)
    (tmp_path / spec.leaf_asset / f"{key(6)}.parquet").unlink()
    stats = tree.update()
    assert stats["nodes_removed"] == 3 and set(node_files(tmp_path, spec)) == set(_shard_files(tree))


def test_the_sharded_hash_index_finds_every_range(tmp_path):
    spec = replace(TX_INDEX_TREE, shard_rows=60)
    tree = scratch(tmp_path, spec, range(64))
    cover = tree.cover()
    assert [p.level for p in cover] == [2] * len(cover) and len(cover) > 20
    assert all(isinstance(p.key_min, int) for p in cover)
    for i in (0, 17, 63):
        prefix = int(hash_prefix(tx_leaf(i)["hash"].slice(4, 1))[0])
        parts = parts_for_key(cover, prefix)
        assert len(parts) == 1
        assert tree.read_part(parts[0], pc.field("hash_prefix") == prefix)["range_index"].to_pylist() == [i]


def _doubling(tables: list[pa.Table]) -> pa.Table:
    """A merge that outputs more rows than it reads (each row twice): the first file's name guess is wrong."""
    t = pa.concat_tables([*tables, *tables])
    return t.take(pc.sort_indices(t, [("k", "ascending"), ("v", "ascending")]))


@pytest.mark.parametrize(("merge", "rows", "suffixes"), [("sum", 25, [""]), ("doubling", 8, ["-0000", "-0001"])])
def test_the_first_file_is_renamed_when_the_size_guess_was_wrong(tmp_path, merge, rows, suffixes):
    spec = replace(
        TOY, fanout=2, shard_rows=30 if merge == "sum" else 20, merge=_doubling if merge == "doubling" else TOY.merge
    )
    store = Storage(str(tmp_path))
    for i in (0, 1):  # the same keys in both ranges: a sum merge halves the rows, the doubling one doubles them
        store.write(spec.leaf_asset, key(i), pa.table({"k": [f"a{j:04d}" for j in range(rows)], "v": [1] * rows}))
    tree = RunTree(store, spec)
    tree.update()
    assert [s["suffix"] for s in tree.manifest()["nodes"]["L1/000000000"]["shards"]] == suffixes
    assert set(node_files(tmp_path, spec)) == {f"L1/000000000{s}.parquet" for s in suffixes}
    assert tree.read().num_rows == (rows if merge == "sum" else 4 * rows)


@pytest.mark.integration
def test_s3_sharded_tree_matches_local(s3_root, tmp_path):
    """On s3:// (moto) sharded nodes, renamed first files included, have the local bytes; stale shards go."""
    spec = replace(TOY, shard_rows=20)
    s3 = Storage(s3_root.uri, s3_endpoint_url=s3_root.endpoint_url)
    tree = RunTree(s3, spec)
    for i in range(8):
        write_leaf(s3, spec, i)
    tree.update()
    local = scratch(tmp_path, spec, range(8))
    files = node_files(tmp_path, spec)
    assert any("-" in name for name in files) and _shard_files(tree) == _shard_files(local)
    for name, data in files.items():
        assert s3_root.server.get_bytes(f"{s3_root.prefix}/{spec.name}/{name}") == data
    assert tree.read().equals(local.read())
    s3_root.server.client().delete_object(Bucket=s3_root.server.bucket, Key=f"{s3_root.prefix}/toy/{key(3)}.parquet")
    tree.update()
    left = [k.split(f"/{spec.name}/")[1] for k in s3_root.server.list_keys(f"{s3_root.prefix}/{spec.name}/")]
    assert sorted(k for k in left if k.endswith(".parquet")) == sorted(_shard_files(tree))
