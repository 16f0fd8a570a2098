"""Paged run-tree manifests: an update touches only its pages, emptied pages go, version 2 upgrades in place."""

from __future__ import annotations

import json
import os

from blockanalytix_assets.index.manifest import PAGES, ROOT
from blockanalytix_assets.storage import Storage
from blockanalytix_tests.unit.test_runs import TOY, key, manifest_files, node_files, scratch, write_leaf

PAGE = 8  # ranges per page at TOY's fan-out 2 (2**3)


def test_an_update_with_changed_keys_reads_and_writes_only_their_pages(tmp_path):
    tree = scratch(tmp_path / "a", TOY, range(3 * PAGE))
    pages = tmp_path / "a" / TOY.name / PAGES
    assert sorted(os.listdir(pages)) == [f"{p:09d}.json" for p in range(3)]
    (pages / "000000000.json").write_text("not json")  # an update of page 2 must not even read page 0
    before = {p: (pages / p).read_bytes() for p in ("000000001.json",)}
    store = Storage(str(tmp_path / "a"))
    write_leaf(store, TOY, 3 * PAGE)
    stats = tree.update([key(3 * PAGE)])
    assert stats["new_leaves"] == 1 and stats["leaves"] == 3 * PAGE + 1 and stats["nodes_built"] == 0
    assert (pages / "000000001.json").read_bytes() == before["000000001.json"]
    assert json.loads((tmp_path / "a" / TOY.name / ROOT).read_bytes())["pages"]["000000003"] == 1


def test_a_full_update_deletes_pages_whose_ranges_all_went(tmp_path):
    tree = scratch(tmp_path / "a", TOY, range(2 * PAGE))
    for i in range(PAGE, 2 * PAGE):
        os.unlink(tmp_path / "a" / "toy" / f"{key(i)}.parquet")
    stats = tree.update()
    assert stats["removed_leaves"] == PAGE and stats["leaves"] == PAGE
    assert os.listdir(tmp_path / "a" / TOY.name / PAGES) == ["000000000.json"]
    ref = scratch(tmp_path / "b", TOY, range(PAGE))
    assert manifest_files(tmp_path / "a", TOY).keys() == manifest_files(tmp_path / "b", TOY).keys()
    assert node_files(tmp_path / "a", TOY) == node_files(tmp_path / "b", TOY)
    assert tree.read().equals(ref.read())


def test_a_version_2_manifest_is_upgraded_without_rebuilding_its_nodes(tmp_path):
    tree = scratch(tmp_path / "a", TOY, range(2 * PAGE))
    folder = tmp_path / "a" / TOY.name
    v2 = {**tree.manifest(), "version": 2}
    for page in (folder / PAGES).iterdir():
        page.unlink()
    (folder / ROOT).write_text(json.dumps(v2))
    assert tree.manifest() == v2  # readers take the old file as it is
    write_leaf(Storage(str(tmp_path / "a")), TOY, 2 * PAGE)
    stats = tree.update([key(2 * PAGE)])  # an incremental update upgrades by a full reconcile first
    assert stats["nodes_built"] == 0 and stats["new_leaves"] == 1
    assert json.loads((folder / ROOT).read_bytes())["version"] == 3
    assert tree.manifest()["nodes"] == v2["nodes"]
