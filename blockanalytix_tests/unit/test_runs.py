"""Run trees: order-independent node sets and bytes, covers, incremental cost, chunked merges."""

from __future__ import annotations

import os
import random
from dataclasses import astuple, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from blockanalytix_assets.index.plan import range_index
from blockanalytix_assets.index.runs import RunTree
from blockanalytix_assets.index.spec import TreeSpec
from blockanalytix_assets.index.trees import TX_INDEX_TREE, hash_prefix
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.storage import Storage

SIZE = 100  # blocks per range


def key(i: int) -> str:
    return format_key(i * SIZE, i * SIZE + SIZE - 1)


def sum_merge(tables: list[pa.Table]) -> pa.Table:
    """Toy merge: sum v per k, sorted by k."""
    t = pa.concat_tables(tables).group_by("k", use_threads=False).aggregate([("v", "sum")])
    t = t.select(["k", "v_sum"]).rename_columns(["k", "v"])
    return t.take(pc.sort_indices(t, [("k", "ascending")]))


TOY = TreeSpec(name="toy_tree", leaf_asset="toy", sort_column="k", merge=sum_merge, fanout=2, row_group_rows=16)


def toy_leaf(i: int, rows: int = 30, salt: int = 0) -> pa.Table:
    """Sorted keys shared between ranges (so merges really sum), values depending on the range."""
    rng = np.random.default_rng(i * 1000 + salt)
    keys = np.unique(rng.integers(0, 200, rows))
    return pa.table({"k": [f"a{k:04d}" for k in keys], "v": pa.array(rng.integers(1, 100, len(keys)), pa.int64())})


def tx_leaf(i: int, rows: int = 25, salt: int = 0) -> pa.Table:
    rng = np.random.default_rng(i * 7919 + salt)
    hashes = ["0x" + rng.bytes(32).hex() for _ in range(rows)]
    return pa.table({"hash": hashes, "block_number": pa.array(np.full(rows, i * SIZE), pa.int64())})


LEAVES = {"toy": toy_leaf, "cleaned_transactions": tx_leaf}


def write_leaf(store: Storage, spec: TreeSpec, i: int, salt: int = 0) -> None:
    store.write(spec.leaf_asset, key(i), LEAVES[spec.leaf_asset](i, salt=salt))


def node_files(root: Path, spec: TreeSpec) -> dict[str, bytes]:
    base = root / spec.name
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.glob("L*/*.parquet"))}


def manifest_files(root: Path, spec: TreeSpec) -> dict[str, bytes]:
    """The manifest's root and page files."""
    base = root / spec.name
    files = [base / "_manifest.json", *sorted(base.glob("_manifest/*.json"))]
    return {str(p.relative_to(base)): p.read_bytes() for p in files}


def scratch(root: Path, spec: TreeSpec, indexes, **kw) -> RunTree:
    store = Storage(str(root))
    for i in indexes:
        write_leaf(store, spec, i)
    tree = RunTree(store, spec, **kw)
    tree.update()
    return tree


def covered(parts, fanout: int) -> list[int]:
    out = []
    for p in parts:
        out.extend(range(p.index * fanout**p.level, (p.index + 1) * fanout**p.level))
    return out


SHARDED = [replace(TOY, shard_rows=20), replace(TX_INDEX_TREE, shard_rows=100)]


@pytest.mark.parametrize("incremental", [False, True], ids=["listing", "changed_keys"])
@pytest.mark.parametrize("spec", [TOY, TX_INDEX_TREE, *SHARDED], ids=["toy", "tx_index", "toy_sharded", "tx_sharded"])
def test_in_order_shuffled_and_rewritten_builds_match_scratch(tmp_path, spec, incremental):
    n = 13 if spec.fanout == 2 else 70
    ref = scratch(tmp_path / "ref", spec, range(n))
    ref_nodes, ref_rows = set(ref.manifest()["nodes"]), ref.read()
    assert ref_nodes and ref_rows.num_rows > 0
    assert any("-" in f for f in node_files(tmp_path / "ref", spec)) == (spec in SHARDED)
    order = list(range(n))
    random.Random(3).shuffle(order)
    for name, seq in {"in_order": list(range(n)), "shuffled": order}.items():
        root = tmp_path / name
        store, tree = Storage(str(root)), RunTree(Storage(str(root)), spec)
        for i in seq:
            write_leaf(store, spec, i)
            tree.update([key(i)] if incremental else None)
            if name == "in_order" and i == 5:  # re-materialise a leaf: first different content, then the same
                write_leaf(store, spec, 5, salt=1)
                assert tree.update([key(5)] if incremental else None)["changed_leaves"] == 1
                write_leaf(store, spec, 5)
                os.utime(root / spec.leaf_asset / f"{key(5)}.parquet", ns=(1, 1))  # a new token even within a tick
                tree.update([key(5)] if incremental else None)
        assert set(tree.manifest()["nodes"]) == ref_nodes, name
        if incremental:  # a full reconcile finds nothing to do and writes the same manifest bytes
            before = manifest_files(root, spec)
            stats = tree.update()
            assert stats["nodes_built"] == stats["files_removed"] == stats["new_leaves"] == 0, name
            assert manifest_files(root, spec) == before and len(before) >= 2, name
        assert node_files(root, spec) == node_files(tmp_path / "ref", spec), name
        assert tree.read().equals(ref_rows), name
        assert [p[:4] for p in map(astuple, tree.cover())] == [p[:4] for p in map(astuple, ref.cover())]


@pytest.mark.parametrize("changed", [None, [key(2)]], ids=["listing", "changed_keys"])
def test_removing_a_leaf_removes_its_ancestors(tmp_path, changed):
    tree = scratch(tmp_path / "a", TOY, range(8))
    assert "L3/000000000" in tree.manifest()["nodes"]
    os.unlink(tmp_path / "a" / "toy" / f"{key(2)}.parquet")
    # Before the update the stale ancestors already drop out of the cover.
    assert sorted(covered(tree.cover(), 2)) == [0, 1, 3, 4, 5, 6, 7]
    stats = tree.update(changed)
    assert stats["removed_leaves"] == 1 and stats["nodes_removed"] == 3 and stats["nodes_built"] == 0
    assert set(tree.manifest()["nodes"]) == {"L1/000000000", "L1/000000002", "L1/000000003", "L2/000000001"}
    assert set(node_files(tmp_path / "a", TOY)) == {f"{n}.parquet" for n in tree.manifest()["nodes"]}
    ref = scratch(tmp_path / "b", TOY, [0, 1, 3, 4, 5, 6, 7])
    assert tree.read().equals(ref.read())
    assert node_files(tmp_path / "a", TOY) == node_files(tmp_path / "b", TOY)


def test_a_rewritten_leaf_is_read_fresh_before_the_next_update(tmp_path):
    tree = scratch(tmp_path / "a", TOY, range(8))
    write_leaf(Storage(str(tmp_path / "a")), TOY, 5, salt=1)
    os.utime(tmp_path / "a" / "toy" / f"{key(5)}.parquet", ns=(1, 1))
    assert [(p.level, p.index) for p in tree.cover()] == [(2, 0), (0, 4), (0, 5), (1, 3)]
    fresh = sum_merge([tree.read()])
    assert fresh.equals(sum_merge([toy_leaf(i, salt=int(i == 5)) for i in range(8)]))
    assert tree.update()["nodes_built"] == 3 and [p.level for p in tree.cover()] == [3]


def test_cover_upto_key_covers_exactly_the_ranges_up_to_it(tmp_path):
    present = [i for i in range(37) if i not in (9, 30)]
    tree = scratch(tmp_path, TOY, present)
    store = Storage(str(tmp_path))
    write_leaf(store, TOY, 40)  # listed but not folded in yet: still part of the cover, as a leaf
    for upto in [*range(42), None]:
        parts = tree.cover(None if upto is None else key(upto))
        got = covered(parts, 2)
        assert got == sorted(got), "range order, no overlap"
        assert got == [i for i in [*present, 40] if upto is None or i <= upto]
        assert all(p.level == 0 or p.path.endswith(f"toy_tree/L{p.level}/{p.index:09d}.parquet") for p in parts)
    assert [p.level for p in tree.cover()] == [3, 0, 1, 2, 3, 2, 1, 0, 2, 0, 0]
    assert tree.cover()[-1].path == store.path("toy", key(40))
    rows = tree.read(key(35), filter=pc.field("k") == "a0100")
    expected = pa.concat_tables([toy_leaf(i) for i in present if i <= 35]).filter(pc.field("k") == "a0100")
    assert rows.num_rows >= 1 and pc.sum(rows["v"]).as_py() == pc.sum(expected["v"]).as_py()


def test_adding_one_range_reads_only_what_a_completed_node_needs(tmp_path):
    spec = TreeSpec(name="t", leaf_asset="toy", sort_column="k", merge=sum_merge, fanout=4, row_group_rows=16)
    store, tree = Storage(str(tmp_path)), RunTree(Storage(str(tmp_path)), spec)
    rows = {}
    for i in range(64):
        write_leaf(store, spec, i)
        stats = tree.update([key(i)] if i % 2 else None)
        rows[f"L0/{i:09d}"] = toy_leaf(i).num_rows
        nodes = tree.manifest()["nodes"]
        built = [n for level in (1, 2, 3) for n in [f"L{level}/{i // 4**level:09d}"] if (i + 1) % 4**level == 0]
        expected = 0
        for name in built:
            level, index = int(name[1]), int(name[3:])
            kids = [f"L{level - 1}/{index * 4 + j:09d}" for j in range(4)]
            expected += sum(rows[k] if k.startswith("L0") else nodes[k]["rows"] for k in kids)
        assert stats["new_leaves"] == 1 and stats["nodes_built"] == len(built)
        assert stats["rows_read"] == expected
        assert stats["rows_written"] == sum(nodes[n]["rows"] for n in built)
    assert tree.update()["nodes_built"] == 0


@pytest.mark.parametrize("shard_rows", [None, 20])
def test_chunked_merge_equals_unchunked(tmp_path, shard_rows):
    calls = []

    def counting(tables):
        calls.append(sum(t.num_rows for t in tables))
        return sum_merge(tables)

    spec = TreeSpec(name="c", leaf_asset="toy", sort_column="k", merge=counting, fanout=2, row_group_rows=16)
    whole = scratch(tmp_path / "whole", spec, range(16), shard_rows=shard_rows)
    n_whole = len(calls)
    calls.clear()
    chunked = scratch(tmp_path / "chunked", spec, range(16), chunk_rows=40, shard_rows=shard_rows)
    assert len(calls) > 2 * n_whole and max(calls) < 120, "children were merged by key chunks"
    assert node_files(tmp_path / "whole", spec) == node_files(tmp_path / "chunked", spec)
    assert any("-" in f for f in node_files(tmp_path / "whole", spec)) == (shard_rows is not None)
    assert chunked.read().equals(whole.read())
    top = chunked.read(columns=["k", "v"])
    assert top.num_rows == len(set(top["k"].to_pylist()))
    assert pc.sum(top["v"]).as_py() == sum(pc.sum(toy_leaf(i)["v"]).as_py() for i in range(16))


def test_tx_index_finds_the_range_of_a_hash(tmp_path):
    tree = scratch(tmp_path, TX_INDEX_TREE, range(9))
    store = Storage(str(tmp_path))
    write_leaf(store, TX_INDEX_TREE, 9)  # a loose leaf, read through leaf_transform
    for i in (0, 7, 8, 9):
        h = tx_leaf(i)["hash"][3].as_py()
        hits = tree.read(filter=pc.field("hash_prefix") == int(hash_prefix(pa.array([h]))[0]))
        assert hits.column_names == ["hash_prefix", "range_index"]
        assert hits["range_index"].to_pylist() == [i] and range_index(key(i)) == i
    assert [p.level for p in tree.cover()] == [1, 0, 0]


def test_hash_prefix_is_the_big_endian_signed_first_eight_bytes():
    hashes = ["0x" + "ff" * 32, "0x0123456789abcdef" + "00" * 24, "0x8000000000000000" + "11" * 24, "0xab"]
    expected = [int(h[2:18].ljust(16, "0"), 16) for h in hashes]
    expected = [v - (1 << 64) if v >= 1 << 63 else v for v in expected]
    assert hash_prefix(pa.array(hashes)).tolist() == expected
    assert hash_prefix(pa.chunked_array([hashes[:2], hashes[2:]])).tolist() == expected
    assert hash_prefix(pa.array(hashes).slice(1)).tolist() == expected[1:]
    assert hash_prefix(pa.array([], pa.string())).dtype == np.int64


@pytest.mark.integration
def test_s3_tree_matches_local(s3_root, tmp_path):
    """On s3:// (moto) the same update gives the same node bytes, cover and rows; one listing per folder."""
    s3 = Storage(s3_root.uri, s3_endpoint_url=s3_root.endpoint_url)
    tree = RunTree(s3, TOY)
    for i in range(9):
        write_leaf(s3, TOY, i)
        tree.update()
    local = scratch(tmp_path, TOY, range(9))
    assert tree.manifest()["nodes"].keys() == local.manifest()["nodes"].keys()
    for name, data in node_files(tmp_path, TOY).items():
        assert s3_root.server.get_bytes(f"{s3_root.prefix}/{TOY.name}/{name}") == data
    parts = tree.cover()
    assert [p.path for p in parts] == [f"{s3_root.uri}/toy_tree/L3/000000000.parquet", s3.path("toy", key(8))]
    assert tree.read().equals(local.read())
    s3_root.server.client().delete_object(Bucket=s3_root.server.bucket, Key=f"{s3_root.prefix}/toy/{key(3)}.parquet")
    assert tree.update()["nodes_removed"] == 3
    left = [k.split("/toy_tree/")[1] for k in s3_root.server.list_keys(f"{s3_root.prefix}/toy_tree/")]
    assert [k for k in left if k.endswith(".parquet")] == [f"{n}.parquet" for n in sorted(tree.manifest()["nodes"])]
