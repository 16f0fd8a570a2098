"""A multi-range (backfill) run records every raw check per range, and the repair job sees a failing range.

The chain is the recorded devnet (`replay_rpc`): these tests are about Dagster's records, not the node.
"""

import dagster as dg
import pyarrow.compute as pc
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from blockanalytix_assets.ingest import checks as ingest_checks
from blockanalytix_assets.ingest.assets import raw_ingest
from blockanalytix_assets.ingest.jobs import raw_checks_job
from blockanalytix_assets.operations.jobs import failed_check_partitions, keys_needing_repair
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.resources import PipelineSettings, RpcResource, StorageResource
from blockanalytix_assets.storage import Storage

RANGE = 10
CHECKS = dg.load_asset_checks_from_modules([ingest_checks])
KEYS = [format_key(first, first + RANGE - 1) for first in (0, 10, 20)]
RANGE_TAGS = {ASSET_PARTITION_RANGE_START_TAG: KEYS[0], ASSET_PARTITION_RANGE_END_TAG: KEYS[-1]}


def _defs(rpc: RpcResource, root: str) -> dg.Definitions:
    return dg.Definitions(
        assets=[raw_ingest],
        asset_checks=CHECKS,
        jobs=[raw_checks_job],
        resources={
            "rpc": rpc,
            "storage": StorageResource(root=root),
            "settings": PipelineSettings(range_size=RANGE, confirmations=0, home=root),
        },
    )


def _latest_status(instance: dg.DagsterInstance, check_key: dg.AssetCheckKey) -> dict[str | None, str]:
    """Per partition, the status of the newest execution record of one check."""
    out: dict[str | None, str] = {}
    for rec in instance.event_log_storage.get_asset_check_execution_history(check_key, limit=1000):
        out.setdefault(rec.partition, rec.status.value)
    return out


def test_backfill_run_records_checks_per_range_and_repair_finds_the_broken_one(replay_rpc, tmp_path):
    root = str(tmp_path)
    defs = _defs(replay_rpc.resource(), root)
    graph = defs.resolve_asset_graph()
    check_keys = sorted(k for k in graph.asset_check_keys)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", KEYS)

    # One run over three ranges, as BackfillPolicy.multi_run batches them.
    result = dg.materialize([raw_ingest, *CHECKS], instance=instance, resources=defs.resources, tags=RANGE_TAGS)
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert sorted((e.check_name, e.partition) for e in evaluations) == sorted(
        (k.name, key) for k in check_keys for key in KEYS
    )
    assert all(e.passed for e in evaluations)
    assert all(e.target_materialization_data is not None for e in evaluations)
    succeeded = AssetCheckExecutionRecordStatus.SUCCEEDED.value
    for ck in check_keys:
        assert _latest_status(instance, ck) == dict.fromkeys(KEYS, succeeded), ck  # no partition-less record
    assert keys_needing_repair(instance, graph) == []

    # A block goes missing from the middle range; the checks job re-checks all three ranges in one run.
    store = Storage(root)
    blocks = store.read("raw_blocks", KEYS[1])
    store.write("raw_blocks", KEYS[1], blocks.filter(pc.not_equal(blocks["number"], 15)))
    rechecked = defs.resolve_job_def("raw_checks_job").execute_in_process(instance=instance, tags=RANGE_TAGS)
    assert rechecked.success
    by_range = {(e.check_name, e.partition): e for e in rechecked.get_asset_check_evaluations()}
    assert len(by_range) == len(check_keys) * len(KEYS)
    assert not by_range[("raw_blocks_complete", KEYS[1])].passed
    assert by_range[("raw_blocks_complete", KEYS[1])].metadata["sample"].value == [15]
    assert by_range[("raw_blocks_complete", KEYS[0])].passed and by_range[("raw_blocks_complete", KEYS[2])].passed

    failed = failed_check_partitions(instance, check_keys)
    assert failed["raw_blocks:raw_blocks_complete"] == {KEYS[1]}
    assert set().union(*failed.values()) == {KEYS[1]}  # the other ranges passed every check
    assert keys_needing_repair(instance, graph) == [KEYS[1]]
