"""The index assets fold in only the ranges Dagster recorded since their last run, and repair on a full scan."""

import os

import dagster as dg
import pyarrow as pa

from blockanalytix_assets.index.assets import transaction_index
from blockanalytix_assets.index.runs import RunTree
from blockanalytix_assets.index.trees import TX_INDEX_TREE
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.resources import StorageResource
from blockanalytix_assets.storage import Storage

KEYS = [format_key(i * 100, i * 100 + 99) for i in range(10)]


def _land(store: Storage, instance: dg.DagsterInstance | None, i: int, salt: int = 0) -> None:
    """Write range i's cleaned_transactions file; record its materialisation unless instance is None."""
    hashes = [f"0x{i:04x}{salt:04x}{n:056x}" for n in range(5)]
    store.write("cleaned_transactions", KEYS[i], pa.table({"hash": hashes}))
    if instance is not None:
        instance.report_runless_asset_event(dg.AssetMaterialization("cleaned_transactions", partition=KEYS[i]))


def _run(root: str, instance: dg.DagsterInstance, full_scan: bool = False) -> dict:
    config = {"ops": {"transaction_index": {"config": {"full_scan": full_scan}}}}
    result = dg.materialize([transaction_index], instance=instance, resources={"storage": StorageResource(root=root)},
                            run_config=config)  # fmt: skip
    meta = result.asset_materializations_for_node("transaction_index")[0].metadata
    return {k: v.value for k, v in meta.items()}


def test_runs_fold_in_recorded_ranges_and_a_full_scan_repairs_the_rest(tmp_path):
    root, instance = str(tmp_path / "store"), dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", KEYS)
    store = Storage(root)
    for i in range(3):
        _land(store, instance, i)
    first = _run(root, instance)
    assert first["full_scan"] and first["leaves"] == 3 and first["new_leaves"] == 3
    for i in range(3, 8):
        _land(store, instance, i)
    _land(store, instance, 1, salt=1)  # a re-materialised range
    os.utime(tmp_path / "store" / "cleaned_transactions" / f"{KEYS[1]}.parquet", ns=(1, 1))
    _land(store, None, 9)  # written outside Dagster: no event, so only a full scan sees it
    second = _run(root, instance)
    assert not second["full_scan"] and second["leaf_cursor"] > first["leaf_cursor"]
    assert (second["leaves"], second["new_leaves"], second["changed_leaves"]) == (8, 5, 1)
    assert second["nodes_built"] == 1 and second["cover_files"] == 1  # L1/0 over ranges 0-7
    assert _run(root, instance)["new_leaves"] == 0
    third = _run(root, instance, full_scan=True)
    assert third["full_scan"] and third["leaves"] == 9 and third["new_leaves"] == 1
    manifest = RunTree(store, TX_INDEX_TREE).manifest()
    fresh = Storage(str(tmp_path / "fresh"))
    for i in [*range(8), 9]:
        _land(fresh, None, i, salt=int(i == 1))
    RunTree(fresh, TX_INDEX_TREE).update()
    assert manifest["nodes"].keys() == RunTree(fresh, TX_INDEX_TREE).manifest()["nodes"].keys() == {"L1/000000000"}
    assert RunTree(store, TX_INDEX_TREE).read().equals(RunTree(fresh, TX_INDEX_TREE).read())
