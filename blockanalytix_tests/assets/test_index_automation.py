"""Automation folds a newly landed range into the unpartitioned run-tree assets, and waits while one runs."""

import dagster as dg

from blockanalytix_assets.features.assets import address_activity_asset
from blockanalytix_assets.index.assets import address_profiles, transaction_index
from blockanalytix_assets.resources import PipelineSettings, StorageResource
from blockanalytix_assets.transform.assets import cleaned_transactions

KEYS = ["000000000-000000099", "000000100-000000199"]
TREES = {dg.AssetKey("address_profiles"), dg.AssetKey("transaction_index")}


def _evaluate(**kwargs) -> dg.EvaluateAutomationConditionsResult:
    """One automation tick, in a worker thread: a session's browser fixture keeps an event loop on the main one."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(dg.evaluate_automation_conditions, **kwargs).result()


def _requested(result: dg.EvaluateAutomationConditionsResult) -> set[dg.AssetKey]:
    return {k for k in TREES if result.get_num_requested(k)}


def test_a_landed_range_requests_both_trees_once(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", KEYS)
    defs = dg.Definitions(
        assets=[cleaned_transactions, address_activity_asset, address_profiles, transaction_index],
        resources={
            "storage": StorageResource(root=str(tmp_path)),
            "settings": PipelineSettings(range_size=100, confirmations=0, home=str(tmp_path)),
        },
    )
    cursor = _evaluate(defs=defs, instance=instance).cursor
    for key in KEYS:  # each range that lands requests both trees once, which then fold it in
        for asset in ("cleaned_transactions", "address_activity"):
            instance.report_runless_asset_event(dg.AssetMaterialization(asset, partition=key))
        landed = _evaluate(defs=defs, instance=instance, cursor=cursor)
        assert _requested(landed) == TREES, key
        for asset in ("address_profiles", "transaction_index"):
            instance.report_runless_asset_event(dg.AssetMaterialization(asset))
        quiet = _evaluate(defs=defs, instance=instance, cursor=landed.cursor)
        assert _requested(quiet) == set(), key
        cursor = quiet.cursor
